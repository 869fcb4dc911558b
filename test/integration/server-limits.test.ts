/**
 * Server limits added for hardening: the request rate per session (token bucket, RATE_LIMITED
 * responses, the connection stays up) and the slow-consumer policy for what a connection holds
 * unsent (WebSocket `bufferedAmount`, frames waiting for a long poll): 4508, never unbounded memory.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RealtimeClient } from '../../src/client/client.js';
import { RemoteError } from '../../src/errors/index.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { Frame, ResponseFrame } from '../../src/protocol/frames.js';
import type { EndInfo, RealtimeServerOptions, ServerSession } from '../../src/server/index.js';
import { resolveOptions } from '../../src/server/options.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { deferred, flood, until, useFixture } from '../helpers/raw-client.js';
import type { RawClient } from '../helpers/raw-client.js';
import { NodeWebSocket } from '../helpers/servers.js';

const { fx, cleanup } = useFixture();

/** Sends `n` requests at once (seq/id from `first`) and returns their responses by id. */
async function burst(client: RawClient, n: number, first = 1): Promise<ResponseFrame[]> {
  for (let i = first; i < first + n; i++) client.send({ type: 'request', seq: i, id: i, event: 'work', data: i });
  await until(() => client.all('response').filter((r) => r.id >= first).length === n);
  return client.all('response').filter((r) => r.id >= first);
}

const limitedCode = (r: ResponseFrame): string | undefined => (r.ok ? undefined : r.error.code);

/** The ids of the responses that ran, ascending (a handler's answer may follow a later refusal). */
const okIds = (responses: ResponseFrame[]): number[] =>
  responses
    .filter((r) => r.ok)
    .map((r) => r.id)
    .sort((a, b) => a - b);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function sessionServer(options: Omit<RealtimeServerOptions, 'server'>) {
  const started = await fx.server(options);
  const sessions: ServerSession[] = [];
  started.rt.on('connection', (s) => sessions.push(s));
  let runs = 0;
  started.rt.handle('work', (data) => (runs++, data));
  return { ...started, sessions, runs: () => runs };
}

describe('defaults', () => {
  it('are the documented ones (README "Guarantees and limits", RealtimeServerOptions TSDoc)', () => {
    const o = resolveOptions({ server: createServer() });
    expect(o).toMatchObject({
      maxFrameBytes: 1_048_576,
      maxBufferedFrames: 10_000,
      maxSessions: 10_000,
      maxSendBufferBytes: 16_777_216,
      requestRateLimit: { perSecond: 100, burst: 200 },
      maxPendingRequests: 1000,
      handshakeTimeoutMs: 10_000,
      sessionGraceMs: 120_000,
      heartbeat: { intervalMs: 20_000, timeoutMs: 10_000 },
      longPoll: { pollTimeoutMs: 25_000, maxBodyBytes: 1_048_576 },
    });
    expect(resolveOptions({ server: createServer(), maxFrameBytes: 4096 }).longPoll.maxBodyBytes).toBe(4096);
  });
});

describe('request rate per session', () => {
  it('answers requests over the burst with RATE_LIMITED, runs none of them, and keeps the connection', async () => {
    const { url, runs } = await sessionServer({ requestRateLimit: { perSecond: 10, burst: 3 } });
    const { client } = await fx.connected(url);
    const responses = await burst(client, 6);
    expect(responses.filter((r) => r.ok).map((r) => r.id)).toEqual([1, 2, 3]);
    const refused = responses.filter((r) => !r.ok);
    expect(refused.map(limitedCode)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(refused[0]).toMatchObject({ error: { message: expect.stringContaining('too many requests') } });
    expect(runs()).toBe(3);
    expect(client.isOpen).toBe(true);
    // The bucket refills (10/s): a later request runs.
    let seq = 7;
    await until(() => {
      client.send({ type: 'request', seq, id: seq, event: 'work', data: seq });
      seq++;
      return client.all('response').some((r) => r.id > 6 && r.ok);
    }, 3000);
    expect(client.isOpen).toBe(true);
  });

  it('defaults to 100 per second with a burst of 200', async () => {
    // The server's clock stands still while the requests arrive, however slowly: nothing refills.
    const clock = new ManualClock();
    const { url, runs } = await sessionServer({ clock });
    const { client } = await fx.connected(url);
    const responses = await burst(client, 260);
    expect(okIds(responses)).toEqual(range(1, 200)); // the first 200 to arrive
    expect(responses.filter((r) => !r.ok).map(limitedCode)).toEqual(Array(60).fill('RATE_LIMITED'));
    expect(runs()).toBe(200);
    clock.advance(1000); // one second refills 100
    const later = await burst(client, 150, 261);
    expect(okIds(later)).toEqual(range(261, 360));
    expect(later.filter((r) => !r.ok).map(limitedCode)).toEqual(Array(50).fill('RATE_LIMITED'));
    expect(runs()).toBe(300);
  });

  it('does not limit events, and requestRateLimit: false turns the limit off', async () => {
    const { url, sessions, runs } = await sessionServer({ requestRateLimit: false });
    const { client } = await fx.connected(url);
    const got: unknown[] = [];
    sessions[0]?.on('n', (v) => got.push(v));
    for (let i = 1; i <= 500; i++) client.send({ type: 'event', seq: i, event: 'n', data: i });
    const responses = await burst(client, 300, 501);
    expect(responses.every((r) => r.ok)).toBe(true);
    expect(runs()).toBe(300);
    expect(got).toHaveLength(500);
  });

  it('rejects a RealtimeClient request over the rate with RemoteError RATE_LIMITED', async () => {
    const { url } = await sessionServer({ requestRateLimit: { perSecond: 1, burst: 1 } });
    const c = new RealtimeClient(url, { WebSocket: NodeWebSocket, lifecycle: false, transports: ['websocket'] });
    cleanup.push(() => c.close());
    await c.waitFor('open', { timeoutMs: 5000 });
    const [first, second] = await Promise.allSettled([c.request('work', 1), c.request('work', 2)]);
    expect(first).toEqual({ status: 'fulfilled', value: 1 });
    const reason = (second as PromiseRejectedResult).reason as RemoteError;
    expect(reason).toBeInstanceOf(RemoteError);
    expect(reason.remoteCode).toBe('RATE_LIMITED');
    expect(c.state).toBe('open');
  });

  it('rejects invalid settings', async () => {
    await expect(fx.server({ requestRateLimit: { perSecond: 0 } })).rejects.toThrow('perSecond');
    await expect(fx.server({ requestRateLimit: { burst: 1.5 } })).rejects.toThrow('burst');
    await expect(fx.server({ maxSendBufferBytes: -1 })).rejects.toThrow('maxSendBufferBytes');
    // Too small for any hello: every client was refused 4413 at connect.
    await expect(fx.server({ maxFrameBytes: 10 })).rejects.toThrow('maxFrameBytes must be an integer of at least 1024');
    await expect(fx.server({ longPoll: { maxBodyBytes: 2 } })).rejects.toThrow('longPoll.maxBodyBytes');
    // A number in a string (an environment variable) is named as one: "got 5" read as a valid value.
    await expect(fx.server({ maxSessions: '5' as never })).rejects.toThrow(
      'maxSessions must be a positive integer, got "5"',
    );
    await expect(fx.server({ sessionGraceMs: '5' as never })).rejects.toThrow('got "5"');
    await expect(fx.server({ requestRateLimit: { perSecond: '5' as never } })).rejects.toThrow('got "5"');
  });

  it('rejects durations longer than a timer holds, which Node would run after 1 ms', async () => {
    const tooLong = 2 ** 31;
    await expect(fx.server({ sessionGraceMs: tooLong })).rejects.toThrow('sessionGraceMs');
    await expect(fx.server({ handshakeTimeoutMs: tooLong })).rejects.toThrow('handshakeTimeoutMs');
    await expect(fx.server({ heartbeat: { intervalMs: tooLong } })).rejects.toThrow('heartbeat.intervalMs');
    await expect(fx.server({ heartbeat: { timeoutMs: tooLong } })).rejects.toThrow('heartbeat.timeoutMs');
    await expect(fx.server({ longPoll: { pollTimeoutMs: tooLong } })).rejects.toThrow('longPoll.pollTimeoutMs');
    await expect(fx.server({ sessionGraceMs: -1 })).rejects.toThrow('sessionGraceMs');
    // The longest one is taken, and 0 still means no grace period.
    await expect(fx.server({ sessionGraceMs: tooLong - 1 })).resolves.toBeDefined();
    await expect(fx.server({ sessionGraceMs: 0 })).resolves.toBeDefined();
  });
});

describe('requests running at once per session', () => {
  /** A server whose 'hold' handler settles only when the test says so. */
  async function holdingServer(options: Omit<RealtimeServerOptions, 'server'>) {
    const started = await sessionServer(options);
    const held: ((value: unknown) => void)[] = [];
    let holds = 0;
    started.rt.handle('hold', (data) => (holds++, new Promise((resolve) => held.push(() => resolve(data)))));
    cleanup.push(() => held.forEach((release) => release(null)));
    return { ...started, held, holds: () => holds };
  }

  const hold = (client: RawClient, seq: number): void =>
    client.send({ type: 'request', seq, id: seq, event: 'hold', data: seq });

  it('answers requests over maxPendingRequests with BUSY at once, runs none of them, and keeps the connection', async () => {
    const { url, held, holds } = await holdingServer({ maxPendingRequests: 2 });
    const { client } = await fx.connected(url);
    for (let seq = 1; seq <= 4; seq++) hold(client, seq);
    await until(() => client.all('response').length === 2);
    const refused = client.all('response');
    expect(refused.map((r) => [r.id, limitedCode(r)])).toEqual([
      [3, 'BUSY'],
      [4, 'BUSY'],
    ]);
    expect(refused[0]).toMatchObject({ error: { message: expect.stringContaining('2 requests') } });
    expect(holds()).toBe(2);
    // One settles: its response goes out, and the next request runs.
    held[0]?.(null);
    hold(client, 5);
    await until(() => holds() === 3);
    await until(() => client.all('response').some((r) => r.id === 1 && r.ok));
    expect(client.all('response').some((r) => r.id === 5)).toBe(false); // still running, not refused
    expect(client.isOpen).toBe(true);
  });

  it('counts a handler that throws, or a request without a handler, as settled', async () => {
    const { url, rt, holds } = await holdingServer({ maxPendingRequests: 1 });
    rt.handle('boom', () => Promise.reject(new Error('no')));
    const { client } = await fx.connected(url);
    // One at a time: each is answered before the next goes, so none finds another running.
    for (const [seq, event] of [
      [1, 'boom'],
      [2, 'boom'],
      [3, 'missing'],
    ] as const) {
      client.send({ type: 'request', seq, id: seq, event, data: seq });
      await until(() => client.all('response').length === seq);
    }
    expect(client.all('response').map(limitedCode)).toEqual(['HANDLER_ERROR', 'HANDLER_ERROR', 'NO_HANDLER']);
    hold(client, 4);
    await until(() => holds() === 1);
  });

  it('refuses before the rate limit takes a token, and rejects a RealtimeClient request with RemoteError BUSY', async () => {
    const { url, held, holds } = await holdingServer({
      maxPendingRequests: 1,
      requestRateLimit: { perSecond: 0.001, burst: 2 },
    });
    const c = new RealtimeClient(url, { WebSocket: NodeWebSocket, lifecycle: false, transports: ['websocket'] });
    cleanup.push(() => c.close());
    await c.waitFor('open', { timeoutMs: 5000 });
    void c.request('hold', 1).catch(() => {});
    const busy = await c.request('work', 2).catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(RemoteError);
    expect((busy as RemoteError).remoteCode).toBe('BUSY');
    expect(holds()).toBe(1);
    // The refusal took no token: the burst's second one is still there once the first settles.
    held[0]?.(null);
    await expect(c.request('work', 3)).resolves.toBe(3);
    expect(c.state).toBe('open');
  });

  it('rejects invalid settings', async () => {
    await expect(fx.server({ maxPendingRequests: 0 })).rejects.toThrow('maxPendingRequests');
    await expect(fx.server({ maxPendingRequests: 1.5 })).rejects.toThrow('maxPendingRequests');
  });
});

/** A ws client that completes the handshake and then stops reading its socket. */
async function stalledClient(url: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  const ws = new WebSocket(url);
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => {
    const f = decodeFrame(data.toString());
    if (!(f instanceof Error)) frames.push(f);
  });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(encodeFrame({ type: 'hello', v: 1, ack: 0 }));
  await until(() => frames.some((f) => f.type === 'welcome'));
  ws.pause();
  return { ws, frames };
}

describe('slow consumers', () => {
  it('WebSocket: a client that stops reading ends with 4508 once bufferedAmount passes maxSendBufferBytes', async () => {
    const { url, rt, sessions } = await sessionServer({ maxSendBufferBytes: 256 * 1024, maxBufferedFrames: 1_000_000 });
    const { ws } = await stalledClient(url);
    const session = sessions[0] as ServerSession;
    const ended = deferred<EndInfo>(20_000);
    session.on('end', ended.resolve);
    // Loopback socket buffers take a few MiB before bufferedAmount grows; far less than the cap.
    const sent = await flood(session, ended.promise, 256 * 1024 * 1024);
    const end = await ended.promise;
    expect(end.code).toBe(CloseCode.SlowConsumer);
    expect(end.reason).toContain('not reading');
    expect(sent).toBeLessThan(128 * 1024 * 1024);
    expect(rt.sessions.size).toBe(0);
    // Reading again, the client finds the close frame behind the backlog.
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.resume();
    expect([CloseCode.SlowConsumer, 1006]).toContain(await closed);
  });

  it('WebSocket: a client that reads keeps up far beyond maxSendBufferBytes', async () => {
    const { url, sessions } = await sessionServer({ maxSendBufferBytes: 64 * 1024 });
    const { client } = await fx.connected(url);
    const session = sessions[0] as ServerSession;
    const payload = 'y'.repeat(8 * 1024);
    for (let batch = 1; batch <= 64; batch++) {
      for (let i = 0; i < 8; i++) session.send('blob', payload); // 64 KiB per batch
      await until(() => client.all('event').length === batch * 8);
      client.send({ type: 'ack', ack: batch * 8 });
    }
    expect(client.isOpen).toBe(true); // 4 MiB went through a 64 KiB limit
    expect(session.connected).toBe(true);
  });

  it('long polling: frames waiting for a poll beyond the limit end the session with 4508', async () => {
    const { url, sessions } = await sessionServer({ maxSendBufferBytes: 64 * 1024 });
    const poll = `${url.replace(/^ws/, 'http')}/poll`;
    const opened = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
    const at = `${poll}?c=${opened.c}`;
    await fetch(at, { method: 'POST', body: `[${encodeFrame({ type: 'hello', v: 1, ack: 0 })}]` });
    const welcome = (await (await fetch(at)).json()) as unknown[][];
    expect(welcome[0]?.[0]).toBe('w');
    const session = sessions[0] as ServerSession;
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    // No GET is held: everything queues, up to the limit.
    for (let i = 0; i < 12; i++) session.send('blob', 'z'.repeat(8 * 1024));
    expect(await ended.promise).toMatchObject({ code: CloseCode.SlowConsumer });
    // The next poll collects the close frame only: what was queued is dropped with the session.
    const last = (await (await fetch(at)).json()) as unknown[][];
    expect(last).toHaveLength(1);
    expect(last[0]?.slice(0, 2)).toEqual(['c', CloseCode.SlowConsumer]);
  });
});
