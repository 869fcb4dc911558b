/**
 * `protocol: 'raw'` against servers that know nothing of surelink: a plain `ws` echo server and a
 * plain `sockjs` echo server. Reconnection, the offline queue and the heartbeat message must work.
 */
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createSockJSServer } from 'sockjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { advanceInSteps, reopen, settle } from '../helpers/clock-steps.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { listen, LOOPBACK_CLIENT } from '../helpers/servers.js';

type Kind = 'websocket' | 'sockjs';

interface EchoServer {
  readonly port: number;
  /** Texts received, in order. */
  readonly received: { text: string }[];
  /** Connections accepted so far. */
  connections: number;
  stop(): Promise<void>;
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An echo server of `kind` on 127.0.0.1; `silent` ones receive but never answer. */
async function echoServer(kind: Kind, { port = 0, silent = false } = {}): Promise<EchoServer> {
  const http = createServer();
  const server: EchoServer = { port: 0, received: [], connections: 0, stop: async () => {} };
  const onText = (text: string, reply: (text: string) => void): void => {
    server.received.push({ text });
    if (!silent) reply(text);
  };
  // Every TCP socket, upgraded ones included (closeAllConnections only knows plain HTTP ones).
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let closeSockets = (): void => {};
  if (kind === 'websocket') {
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (socket) => {
      server.connections++;
      socket.on('message', (data: Buffer) => onText(data.toString(), (t) => socket.send(t)));
    });
    closeSockets = () => wss.close();
  } else {
    const sockjs = createSockJSServer({ prefix: '/echo', log: () => {} });
    sockjs.on('connection', (conn) => {
      server.connections++;
      conn.on('data', (text: string) => onText(text, (t) => conn.write(t)));
    });
    sockjs.installHandlers(http);
  }
  const actual = await listen(http, port);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve) => {
      closeSockets();
      for (const socket of sockets) socket.destroy();
      http.close(() => resolve());
    }));
  cleanup.push(stop);
  return Object.assign(server, { port: actual, stop });
}

function rawClient(kind: Kind, port: number, options: ClientOptions = {}): RealtimeClient {
  const url = kind === 'websocket' ? `ws://127.0.0.1:${port}/echo` : `http://127.0.0.1:${port}/echo`;
  const c = new RealtimeClient(url, {
    protocol: 'raw',
    transports: [kind],
    // A foreign SockJS server lives where it likes: the derived `/echo/sockjs` is overridden.
    urls: { sockjs: `http://127.0.0.1:${port}/echo` },
    ...LOOPBACK_CLIENT,
    ...options,
  });
  cleanup.push(() => c.close());
  return c;
}

const until = (cond: () => boolean, timeout = 10_000) =>
  vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 10 });
const texts = (server: EchoServer) => server.received.map((r) => r.text);

describe.each(['websocket', 'sockjs'] as const)('raw mode against a plain %s echo server', (kind) => {
  it('echoes, reconnects after a restart and flushes the offline queue, in order', async () => {
    const first = await echoServer(kind);
    const c = rawClient(kind, first.port);
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m));
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: kind, resumed: false });
    expect(c.send('hello')).toBe('sent');
    await until(() => messages.length === 1);
    expect(messages).toEqual(['hello']);

    await first.stop();
    await until(() => c.state === 'reconnecting');
    expect(c.send('queued 1')).toBe('queued');
    expect(c.send('queued 2')).toBe('queued');
    expect(c.queued).toBe(2);
    const second = await echoServer(kind, { port: first.port });
    await c.waitFor('open', { timeoutMs: 8000 });
    expect(c.queued).toBe(0);
    expect(c.send('after')).toBe('sent');
    await until(() => messages.length === 4);
    expect(texts(second)).toEqual(['queued 1', 'queued 2', 'after']);
    expect(messages).toEqual(['hello', 'queued 1', 'queued 2', 'after']);
  });

  it('close() ends the socket without writing anything of the surelink protocol to the server', async () => {
    const server = await echoServer(kind);
    const c = rawClient(kind, server.port);
    await c.waitFor('open', { timeoutMs: 8000 });
    c.send('last words');
    expect(c.close()).toEqual([]);
    await until(() => server.received.length > 0);
    // The server's side of the close has arrived once a new client's text arrives after it.
    const next = rawClient(kind, server.port);
    await next.waitFor('open', { timeoutMs: 8000 });
    next.send('next');
    await until(() => texts(server).includes('next'));
    expect(texts(server)).toEqual(['last words', 'next']);
  });

  it('sends the heartbeat message after intervalMs of silence, and only then', async () => {
    const server = await echoServer(kind);
    const intervalMs = 600;
    const clock = new ManualClock(); // the client's time moves only in the test's steps
    const c = rawClient(kind, server.port, { heartbeat: { message: 'ping', intervalMs, timeoutMs: 5000 }, clock });
    const echoes: unknown[] = [];
    c.on('message', (m) => echoes.push(m));
    await reopen(c, clock);
    // An echo every 100 ms of the clock keeps the link busy: no ping may go out meanwhile.
    for (let i = 0; i < 8; i++) {
      c.send(`busy ${i}`);
      await until(() => echoes.length === i + 1);
      clock.advance(100);
    }
    // The last echo came 100 ms ago; the ping is due intervalMs after it.
    await advanceInSteps(clock, intervalMs - 100 - 1);
    await settle(100);
    expect(texts(server).filter((t) => t === 'ping')).toEqual([]);
    clock.advance(1);
    await until(() => texts(server).includes('ping'));
    expect(texts(server).filter((t) => t === 'ping')).toEqual(['ping']);
    expect(c.state).toBe('open');
  });

  it('declares a server that never answers dead (4000) and connects again', async () => {
    const server = await echoServer(kind, { silent: true });
    const c = rawClient(kind, server.port, { heartbeat: { message: 'ping', intervalMs: 200, timeoutMs: 300 } });
    await c.waitFor('open', { timeoutMs: 8000 });
    const closed = await c.waitFor('close', { timeoutMs: 5000 });
    expect(closed).toEqual({ code: 4000, reason: 'heartbeat timeout', willReconnect: true });
    expect(texts(server)).toContain('ping');
    await c.waitFor('open', { timeoutMs: 8000 });
    expect(server.connections).toBeGreaterThanOrEqual(2);
  });
});
