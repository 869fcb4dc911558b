/**
 * PROTOCOL.md's SockJS close-code rules, in surelink mode: the reference server closes the SockJS
 * session with its close frame's code, and the client takes a code from SockJS only from a close
 * frame and only 1000 or 3000–4999, with a surelink close frame winning over it. sockjs.test.ts
 * already checks session.close(4321 | 1000) end to end, the 4403 origin refusal and 1001 on
 * server.close() over xhr-polling.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createSockJSServer, type Connection } from 'sockjs';
import SockJSClient from 'sockjs-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import { listen, LOOPBACK_CLIENT, NodeWebSocket, startServer } from '../helpers/servers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const until = (cond: () => boolean, timeout = 10_000) =>
  vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 10 });

describe.each(['websocket', 'xhr-streaming'])('reference server over SockJS (%s)', (sub) => {
  it('closes the SockJS session with the code of its close frame', async () => {
    const s = await startServer();
    cleanup.push(() => s.stop());
    s.rt.on('connection', (session) => session.close(4321, 'bye'));
    const sockjs = new SockJSClient(`http://127.0.0.1:${s.port}/realtime/sockjs`, undefined, { transports: [sub] });
    cleanup.push(() => sockjs.close());
    const messages: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (sockjs.onclose = resolve));
    sockjs.onmessage = (m: { data: string }) => messages.push(m.data);
    sockjs.onopen = () => sockjs.send(encodeFrame({ type: 'hello', v: 1, ack: 0 }));
    expect(await closed).toMatchObject({ code: 4321, reason: 'bye' });
    expect(messages.map((m) => decodeFrame(m))).toMatchObject([
      { type: 'welcome' },
      { type: 'close', code: 4321, reason: 'bye' },
    ]);
  });
});

type Ending = (conn: Connection) => void;

/** sockjs writes the code as given: @types/sockjs's string would put `"4401"` on the wire. */
const close = (conn: Connection, code: number, reason: string): boolean =>
  (conn as unknown as { close(code: number, reason: string): boolean }).close(code, reason);

/**
 * A plain `sockjs` server that speaks just enough surelink to welcome a client, then ends each
 * connection the way `endings` says, in turn.
 */
async function fakeServer(
  endings: Ending[],
  heartbeatDelay?: number,
): Promise<{ port: number; connections: () => number }> {
  const http = createServer();
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const sockjs = createSockJSServer({
    prefix: '/realtime/sockjs',
    log: () => {},
    ...(heartbeatDelay ? { heartbeat_delay: heartbeatDelay } : {}),
  });
  let connections = 0;
  sockjs.on('connection', (conn: Connection) => {
    const end = endings[connections++];
    conn.once('data', () => {
      conn.write(
        encodeFrame({
          type: 'welcome',
          v: 1,
          sid: `s${connections}`,
          resume: 'r'.repeat(32),
          resumed: false,
          ack: 0,
          hb: { intervalMs: 100, timeoutMs: 200 },
        }),
      );
      if (end) setImmediate(() => end(conn));
    });
  });
  sockjs.installHandlers(http);
  const port = await listen(http);
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        http.close(() => resolve());
      }),
  );
  return { port, connections: () => connections };
}

function sockjsClient(port: number, options: ClientOptions = {}): RealtimeClient {
  const c = new RealtimeClient(`ws://127.0.0.1:${port}/realtime`, {
    transports: ['sockjs'],
    ...LOOPBACK_CLIENT,
    ...options,
  });
  cleanup.push(() => c.close());
  return c;
}

const frame = (code: number, reason: string): string => encodeFrame({ type: 'close', code, reason });

describe('the client over SockJS: which code counts', () => {
  it('takes 3000–4999 from a SockJS close frame, makes other codes 1006, and lets a surelink close frame win', async () => {
    const server = await fakeServer([
      (conn) => conn.close('4401', 'a string'), // @types/sockjs's way: c["4401",…] is no code, a dropped link
      (conn) => close(conn, 1001, 'going away'), // not 1000 or 3000–4999: a dropped link
      (conn) => close(conn, 4321, 'custom'), // retried, with its own code
      (conn) => (conn.write(frame(4333, 'frame wins')), close(conn, 4401, 'not this')),
      (conn) => close(conn, 4401, 'who are you'), // fatal, straight from SockJS
    ]);
    const c = sockjsClient(server.port);
    const seen: { code: number; willReconnect: boolean }[] = [];
    c.on('close', ({ code, willReconnect }) => seen.push({ code, willReconnect }));
    await until(() => c.state === 'closed');
    expect(seen).toEqual([
      { code: 1006, willReconnect: true },
      { code: 1006, willReconnect: true },
      { code: 4321, willReconnect: true },
      { code: 4333, willReconnect: true },
      { code: 4401, willReconnect: false },
    ]);
    expect(server.connections()).toBe(5);
  });
});

describe('the client over SockJS: edge cases', () => {
  it('retries a SockJS 1000 that no surelink close frame came before, as on WebSocket', async () => {
    const server = await fakeServer([(conn) => close(conn, 1000, 'bye')]);
    const c = sockjsClient(server.port);
    await expect(c.waitFor('close', { timeoutMs: 8000 })).resolves.toEqual({
      code: 1000,
      reason: 'bye',
      willReconnect: true,
    });
    await c.waitFor('open', { timeoutMs: 8000 });
    expect(server.connections()).toBe(2);
  });

  it("does not count SockJS's own heartbeat as liveness", async () => {
    const server = await fakeServer([], 50);
    const c = sockjsClient(server.port, { heartbeat: { intervalMs: 100, timeoutMs: 200 } });
    await c.waitFor('open', { timeoutMs: 8000 });
    await expect(c.waitFor('close', { timeoutMs: 8000 })).resolves.toMatchObject({ code: 4000, willReconnect: true });
  });
});

describe('SockJS without sockjs-client', () => {
  it('surelink.min.js (no window.SockJS) moves on to the next transport with a clear error', async () => {
    const s = await startServer();
    cleanup.push(() => s.stop());
    // The IIFE build defines the global `Surelink`; evaluated here, the Node realm has no SockJS.
    const code = readFileSync(new URL('../../dist/surelink.min.js', import.meta.url), 'utf8');
    const Surelink = new Function(`${code}\nreturn Surelink;`)() as { RealtimeClient: typeof RealtimeClient };
    const c = new Surelink.RealtimeClient(s.url, {
      transports: ['sockjs', 'websocket'],
      WebSocket: NodeWebSocket,
      lifecycle: false,
      reconnect: false,
    });
    cleanup.push(() => c.close());
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: 'websocket', resumed: false });
    // The error shows when there is nothing to move on to (this build's own TransportError class).
    const alone = new Surelink.RealtimeClient(s.url, { transports: ['sockjs'], lifecycle: false, reconnect: false });
    cleanup.push(() => alone.close());
    const error = await alone.waitFor('error', { timeoutMs: 8000 });
    expect(error).toMatchObject({ name: 'TransportError', transport: 'sockjs' });
    expect((error as Error).message).toContain("SockJS is not loaded: add sockjs-client's <script>");
  });

  it('the reference server points sockjs_url at itself, never a CDN', async () => {
    const s = await startServer();
    cleanup.push(() => s.stop());
    const page = await (await fetch(`http://127.0.0.1:${s.port}/realtime/sockjs/iframe.html`)).text();
    expect(page).toContain('src="/realtime/sockjs-client.min.js"');
  });
});
