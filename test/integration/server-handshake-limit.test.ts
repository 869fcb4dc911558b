/**
 * `maxHandshakes`: connections that have not completed hello/welcome are bounded on all endpoints
 * together, so a peer that opens connections and never says hello cannot hold unboundedly many for
 * `handshakeTimeoutMs` each. One over the bound is refused like a session over `maxSessions`
 * (4429; HTTP 429 to a long-polling opening POST), and every way a handshake ends gives its place
 * back: a leaked count would refuse the fresh connection each case ends with.
 */
import { createServer } from 'node:http';
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';
import type { RealtimeServerOptions } from '../../src/server/index.js';
import { resolveOptions } from '../../src/server/options.js';
import { until, useFixture } from '../helpers/raw-client.js';

const { fx, cleanup } = useFixture();

const hello = encodeFrame({ type: 'hello', v: 1, ack: 0 });

/** A server and its endpoints' URLs. */
async function start(options: Omit<RealtimeServerOptions, 'server'>) {
  const started = await fx.server(options);
  const http = started.url.replace(/^ws/, 'http');
  return { ...started, sockjs: `${http}/sockjs`, poll: `${http}/poll` };
}

/** A sockjs-client socket that records the frames it gets and how it closed. */
function sockjsPeer(url: string) {
  const socket = new SockJSClient(url, undefined, { transports: ['xhr-streaming'] });
  cleanup.push(() => socket.close());
  const frames: Frame[] = [];
  socket.onmessage = (m: { data: string }) => {
    const frame = decodeFrame(m.data);
    if (!(frame instanceof Error)) frames.push(frame);
  };
  const opened = new Promise((resolve) => (socket.onopen = resolve));
  const closed = new Promise<number>((resolve) => (socket.onclose = (e: { code: number }) => resolve(e.code)));
  return { socket, frames, opened, closed };
}

/** Opens a long-polling connection: its id, or the HTTP status that refused it. */
async function openPoll(poll: string): Promise<{ status: number; id?: string }> {
  const res = await fetch(poll, { method: 'POST' });
  if (!res.ok) return { status: res.status };
  return { status: res.status, id: ((await res.json()) as { c: string }).c };
}

describe('maxHandshakes', () => {
  it('defaults to 1000 and must be a positive integer', async () => {
    expect(resolveOptions({ server: createServer() }).maxHandshakes).toBe(1000);
    await expect(fx.server({ maxHandshakes: 0 })).rejects.toThrow('maxHandshakes');
    await expect(fx.server({ maxHandshakes: 2.5 })).rejects.toThrow('maxHandshakes');
  });

  it('WebSocket: one more connection without a welcome gets a close frame 4429', async () => {
    const { url } = await start({ maxHandshakes: 2 });
    const silent = [await fx.client(url), await fx.client(url)];
    const third = await fx.client(url);
    const closed = await third.waitClosed();
    expect(closed.code).toBe(CloseCode.TooManyRequests);
    expect(third.received).toEqual([
      { type: 'close', code: CloseCode.TooManyRequests, reason: 'too many connections in their handshake' },
    ]);
    // One of the two completes its handshake: its place goes to the next connection.
    await silent[0]?.handshake();
    const { welcome } = await fx.connected(url);
    expect(welcome.type).toBe('welcome');
    expect(silent[1]?.isOpen).toBe(true);
  });

  it('SockJS: one more connection gets a close frame 4429, then the SockJS close', async () => {
    const { url, sockjs } = await start({ maxHandshakes: 1 });
    const first = await fx.client(url); // the bound is shared by every endpoint
    const peer = sockjsPeer(sockjs);
    expect(await peer.closed).toBe(CloseCode.TooManyRequests);
    expect(peer.frames).toEqual([
      { type: 'close', code: CloseCode.TooManyRequests, reason: 'too many connections in their handshake' },
    ]);
    await first.handshake();
    const next = sockjsPeer(sockjs);
    await next.opened;
    next.socket.send(hello);
    await until(() => next.frames.some((f) => f.type === 'welcome'));
  });

  it('long polling: an opening POST over the bound gets 429 and no connection id', async () => {
    const { url, poll } = await start({ maxHandshakes: 2 });
    const opened = await openPoll(poll);
    expect(opened.status).toBe(200);
    await fx.client(url);
    expect(await openPoll(poll)).toEqual({ status: 429 });
    // The first one says hello and gets its welcome: the place is free again.
    const at = `${poll}?c=${opened.id ?? ''}`;
    await fetch(at, { method: 'POST', body: `[${hello}]` });
    const welcome = (await (await fetch(at)).json()) as unknown[][];
    expect(welcome[0]?.[0]).toBe('w');
    expect((await openPoll(poll)).status).toBe(200);
  });

  describe('gives the place back however the handshake ends', () => {
    /** With one place: the handshake that follows `end` has to find it free. */
    async function endsThenNextIsAdmitted(
      options: Omit<RealtimeServerOptions, 'server'>,
      end: (url: string) => Promise<void>,
    ): Promise<void> {
      const { url } = await start({ maxHandshakes: 1, ...options });
      for (let round = 0; round < 3; round++) await end(url);
      const { welcome } = await fx.connected(url);
      expect(welcome.type).toBe('welcome');
    }

    it('welcome, then the session closes', async () => {
      await endsThenNextIsAdmitted({}, async (url) => {
        const { client } = await fx.connected(url);
        client.close();
        await client.waitClosed();
      });
    });

    it('refusal: a bad first frame (4400), a wrong version (4426), unauthorized (4401)', async () => {
      await endsThenNextIsAdmitted({ authenticate: (token) => token !== 'bad' }, async (url) => {
        for (const [text, code] of [
          ['{"not":"a frame"}', CloseCode.ProtocolError],
          [encodeFrame({ type: 'hello', v: 99, ack: 0 }), CloseCode.UnsupportedVersion],
          [encodeFrame({ type: 'hello', v: 1, ack: 0, auth: 'bad' }), CloseCode.Unauthorized],
        ] as const) {
          const client = await fx.client(url);
          client.sendText(text);
          expect((await client.waitClosed()).code).toBe(code);
        }
      });
    });

    it('refusal over the bound itself', async () => {
      await endsThenNextIsAdmitted({}, async (url) => {
        const holder = await fx.client(url);
        const refused = await fx.client(url);
        expect((await refused.waitClosed()).code).toBe(CloseCode.TooManyRequests);
        holder.terminate();
        await holder.closed;
      });
    });

    it('timeout (4008)', async () => {
      await endsThenNextIsAdmitted({ handshakeTimeoutMs: 100 }, async (url) => {
        const client = await fx.client(url);
        expect((await client.waitClosed()).code).toBe(CloseCode.HandshakeTimeout);
      });
    });

    it('the socket closed before hello, and while authenticate runs', async () => {
      const waiting: (() => void)[] = [];
      let calls = 0;
      const authenticate = () =>
        ++calls <= 3 ? new Promise<boolean>((resolve) => waiting.push(() => resolve(true))) : true;
      await endsThenNextIsAdmitted({ authenticate }, async (url) => {
        const before = await fx.client(url);
        before.terminate();
        await before.closed;
        const during = await fx.client(url);
        const asked = calls;
        during.sendText(hello);
        await until(() => calls > asked);
        during.terminate();
        await during.closed;
        waiting.shift()?.(); // authenticate answers after the connection is gone
      });
    });

    it('long polling: timeout, and a DELETE before hello', async () => {
      const { url, poll } = await start({ maxHandshakes: 1, handshakeTimeoutMs: 100 });
      for (let round = 0; round < 3; round++) {
        const timedOut = await openPoll(poll);
        const frames = (await (await fetch(`${poll}?c=${timedOut.id ?? ''}`)).json()) as unknown[][];
        expect(frames[0]?.slice(0, 2)).toEqual(['c', CloseCode.HandshakeTimeout]);
        const deleted = await openPoll(poll);
        expect(deleted.status).toBe(200);
        await fetch(`${poll}?c=${deleted.id ?? ''}`, { method: 'DELETE' });
      }
      expect((await fx.connected(url)).welcome.type).toBe('welcome');
    });
  });
});
