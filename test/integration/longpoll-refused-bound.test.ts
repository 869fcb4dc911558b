/**
 * Long-polling connections refused in their handshake (a bad hello) keep their `close` frame for a
 * GET. They gave their `maxHandshakes` place back at once and waited for the idle timeout (35 s),
 * so their number was not bounded: open + bad hello in a loop left one connection per round trip
 * (5,000 in 1.3 s on loopback). They now keep their place until they are gone, and are ended
 * `handshakeTimeoutMs` after the refusal when no GET came.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { useHarness } from '../helpers/harness.js';
import { ManualClock } from '../helpers/manual-clock.js';

const { server } = useHarness();

/** Opens a long-polling connection and sends it a bad hello; its id, or null when the opening was refused. */
async function openRefused(poll: string): Promise<string | null> {
  const opened = await fetch(poll, { method: 'POST', body: '{"n":1}' });
  if (opened.status !== 200) return (await opened.text(), null);
  const { c } = (await opened.json()) as { c: string };
  await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["x"]]' });
  return c;
}

describe('long-polling connections refused in their handshake', () => {
  it('are no more at once than maxHandshakes while their close frames wait', async () => {
    const s = await server({ maxHandshakes: 2 });
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const held: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await openRefused(poll);
      if (c !== null) held.push(c);
    }
    // Every id still holds a connection (its close frame), a GET collects it:
    for (const c of held) {
      const frames = (await (await fetch(`${poll}?c=${c}`)).json()) as unknown[];
      expect((frames[1] as unknown[]).slice(0, 2)).toEqual(['c', CloseCode.ProtocolError]);
    }
    expect(held).toHaveLength(2);
    // Collected: their places are free again.
    const next = await openRefused(poll);
    expect(next).not.toBeNull();
    await fetch(`${poll}?c=${next}`);
  });

  it('end handshakeTimeoutMs after the refusal when no GET comes, and give their place back', async () => {
    const clock = new ManualClock();
    const s = await server({ maxHandshakes: 1, clock });
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const c = await openRefused(poll);
    expect(c).not.toBeNull();
    expect(await openRefused(poll)).toBeNull(); // 429: its place is held
    clock.advance(9_999);
    expect(await openRefused(poll)).toBeNull();
    clock.advance(1);
    expect((await fetch(`${poll}?c=${c}`)).status).toBe(404); // gone, without its close frame
    const next = await openRefused(poll);
    expect(next).not.toBeNull();
    await fetch(`${poll}?c=${next}`); // collects its close frame: nothing left for the shutdown to wait for
  });
});
