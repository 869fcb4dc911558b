/**
 * On long polling, each frame of a POST body counts against the frame-size limit in UTF-8 bytes
 * (PROTOCOL.md, "Limits": 4413, as a `close` frame), as it does on WebSocket and SockJS. With
 * `longPoll.maxBodyBytes` above `maxFrameBytes` (several frames per body), the body's limit let
 * a frame through whose text was within `maxFrameBytes` characters but up to three times as many
 * bytes: the session counts characters.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import { useHarness } from '../helpers/harness.js';

const { server } = useHarness();

describe('long polling: a frame in a body larger than maxFrameBytes', () => {
  it('ends the connection with 4413 when its UTF-8 bytes are over, though its characters are not', async () => {
    const s = await server({ maxFrameBytes: 1024, longPoll: { maxBodyBytes: 10_000 } });
    const events: unknown[] = [];
    s.rt.on('connection', (session) => session.on('big', (data) => events.push(data)));
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const { c } = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
    const at = `${poll}?c=${c}`;
    expect(
      (await fetch(at, { method: 'POST', body: `[${encodeFrame({ type: 'hello', v: 1, ack: 0 })}]` })).status,
    ).toBe(204);
    const welcome = (await (await fetch(at)).json()) as unknown[][];
    expect(welcome[0]?.[0]).toBe('w');
    const frame = JSON.stringify(['e', 1, 'big', '€'.repeat(400)]); // 413 characters, 1213 bytes
    expect(frame.length).toBeLessThan(1024);
    expect(Buffer.byteLength(frame)).toBeGreaterThan(1024);
    expect((await fetch(at, { method: 'POST', body: `[${frame}]` })).status).toBe(204);
    const last = (await (await fetch(at)).json()) as unknown[][];
    expect(last.map((f) => f.slice(0, 2))).toEqual([['c', CloseCode.FrameTooLarge]]);
    expect(events).toEqual([]);
  });
});
