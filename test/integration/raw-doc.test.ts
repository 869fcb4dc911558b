/**
 * README's `protocol: 'raw'` row and PROTOCOL.md's "Raw mode", checked against servers that know
 * nothing of surelink (a plain `ws` server, a plain `sockjs` server). What raw-mode.test.ts already
 * checks (echo, restart, queue flush, close() writing nothing, heartbeat timing, 4000) is not
 * repeated here.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createSockJSServer, type Connection } from 'sockjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { InvalidArgumentError, TransportError } from '../../src/errors/index.js';
import { listen, LOOPBACK_CLIENT } from '../helpers/servers.js';

type Kind = 'websocket' | 'sockjs';

/** sockjs writes the code as given: @types/sockjs's string would put `"4401"` on the wire. */
interface NumericClose {
  close(code: number, reason: string): boolean;
}

/** One peer connection of either kind, as the tests drive it. */
interface Peer {
  readonly protocol: string;
  send(text: string): void;
  close(code: number, reason: string): void;
}

interface RawServer {
  readonly port: number;
  readonly received: string[];
  readonly peers: Peer[];
  /** Every HTTP request and upgrade the http server saw, by URL. */
  readonly requests: string[];
  /** WebSocket upgrades refused on paths outside the SockJS prefix. */
  refusedUpgrades: number;
  stop(): Promise<void>;
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface ServerOptions {
  port?: number;
  /** Answers an inbound text; the default echoes it. `undefined` answers nothing. */
  answer?: (text: string) => string | undefined;
  /** Where the SockJS server lives. */
  prefix?: string;
  /** Refuse WebSocket upgrades (403) instead of serving them: only SockJS's non-WebSocket routes work. */
  refuseWebSocket?: boolean;
  /** sockjs's own heartbeat period (`h` frames). */
  heartbeatDelay?: number;
}

/** A plain `ws` or `sockjs` server on 127.0.0.1. */
async function rawServer(kind: Kind, options: ServerOptions = {}): Promise<RawServer> {
  const { port = 0, answer = (t: string) => t, prefix = '/echo', refuseWebSocket = false, heartbeatDelay } = options;
  const http = createServer((req, res) => {
    if (!res.headersSent && !res.writableEnded && !req.url?.startsWith(prefix)) res.writeHead(404).end();
  });
  const server: RawServer = {
    port: 0,
    received: [],
    peers: [],
    requests: [],
    refusedUpgrades: 0,
    stop: async () => {},
  };
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const onText = (text: string, reply: (text: string) => void): void => {
    server.received.push(text);
    const out = answer(text);
    if (out !== undefined) reply(out);
  };
  let closeAll = (): void => {};
  if (kind === 'websocket') {
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (socket: WebSocket) => {
      server.peers.push({
        protocol: 'websocket',
        send: (t) => socket.send(t),
        close: (code, reason) => socket.close(code, reason),
      });
      socket.on('message', (data: Buffer) => onText(data.toString(), (t) => socket.send(t)));
    });
    closeAll = () => wss.close();
  } else {
    if (refuseWebSocket)
      http.on('upgrade', (req: IncomingMessage, socket: Socket) => {
        // sockjs passes upgrades outside its prefix on to the listeners installed before it.
        server.refusedUpgrades++;
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      });
    const sockjs = createSockJSServer({
      prefix,
      log: () => {},
      websocket: !refuseWebSocket,
      ...(heartbeatDelay ? { heartbeat_delay: heartbeatDelay } : {}),
    });
    sockjs.on('connection', (conn: Connection) => {
      server.peers.push({
        protocol: conn.protocol,
        send: (t) => conn.write(t),
        close: (code, reason) => (conn as unknown as NumericClose).close(code, reason),
      });
      conn.on('data', (text: string) => onText(text, (t) => conn.write(t)));
    });
    sockjs.installHandlers(http);
  }
  // Last, so that sockjs, which takes over the listeners installed before it, does not hide any.
  const seen = (req: IncomingMessage): void => void server.requests.push(req.url ?? '');
  http.prependListener('request', seen);
  http.prependListener('upgrade', seen);
  const actual = await listen(http, port);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve) => {
      closeAll();
      for (const socket of sockets) socket.destroy();
      http.close(() => resolve());
    }));
  cleanup.push(stop);
  return Object.assign(server, { port: actual, stop });
}

function rawClient(kind: Kind, port: number, options: ClientOptions = {}, url?: string): RealtimeClient {
  const c = new RealtimeClient(url ?? `ws://127.0.0.1:${port}/echo`, {
    protocol: 'raw',
    transports: [kind],
    urls: kind === 'sockjs' ? { sockjs: `http://127.0.0.1:${port}/echo` } : {},
    ...LOOPBACK_CLIENT,
    ...options,
  });
  cleanup.push(() => c.close());
  return c;
}

const until = (cond: () => boolean, timeout = 10_000) =>
  vi.waitFor(() => expect(cond()).toBe(true), { timeout, interval: 10 });

interface Closed {
  code: number;
  willReconnect: boolean;
}
const closes = (c: RealtimeClient): Closed[] => {
  const list: Closed[] = [];
  c.on('close', ({ code, willReconnect }) => list.push({ code, willReconnect }));
  return list;
};

describe.each(['websocket', 'sockjs'] as const)('raw mode, %s: what README and PROTOCOL.md promise', (kind) => {
  it('carries each message as-is both ways: surelink-looking texts are neither framed nor obeyed', async () => {
    const server = await rawServer(kind);
    const c = rawClient(kind, server.port);
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m));
    const seen = closes(c);
    await c.waitFor('open', { timeoutMs: 8000 });
    const out = ['["e",1,"chat",{"t":"hi"}]', '[["a",3],["p",1]]', 'two\nlines é 😀'];
    for (const text of out) expect(c.send(text)).toBe('sent');
    await until(() => messages.length === out.length);
    expect(server.received).toEqual(out);
    expect(messages).toEqual(out);
    // A close frame and a welcome from the server are only texts: no close, no session.
    const peer = server.peers[0];
    peer?.send('["c",1000,"bye"]');
    peer?.send('["w",1,"sid","tok",false,0,[1,1]]');
    await until(() => messages.length === out.length + 2);
    expect(messages.slice(-2)).toEqual(['["c",1000,"bye"]', '["w",1,"sid","tok",false,0,[1,1]]']);
    expect(c.state).toBe('open');
    expect(seen).toEqual([]);
  });

  it("retries a raw server's 1000 and an unknown code (4321), and stops on the table's fatal ones (4401)", async () => {
    const server = await rawServer(kind);
    const c = rawClient(kind, server.port);
    const seen = closes(c);
    await c.waitFor('open', { timeoutMs: 8000 });
    server.peers[0]?.close(1000, 'done');
    await until(() => server.peers.length === 2 && c.state === 'open');
    server.peers[1]?.close(4321, 'custom');
    await until(() => server.peers.length === 3 && c.state === 'open');
    server.peers[2]?.close(4401, 'who are you');
    await until(() => c.state === 'closed');
    expect(seen).toEqual([
      { code: 1000, willReconnect: true },
      { code: 4321, willReconnect: true },
      { code: 4401, willReconnect: false },
    ]);
  });

  it('request() and ping() refuse on an open link and write nothing to the server', async () => {
    const server = await rawServer(kind);
    const c = rawClient(kind, server.port);
    await c.waitFor('open', { timeoutMs: 8000 });
    await expect(c.request('add', [1, 2])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(c.ping()).rejects.toBeInstanceOf(InvalidArgumentError);
    c.send('marker');
    await until(() => server.received.length > 0);
    expect(server.received).toEqual(['marker']);
  });

  it('close() while reconnecting returns the queued texts, which were never written', async () => {
    const server = await rawServer(kind);
    const c = rawClient(kind, server.port);
    await c.waitFor('open', { timeoutMs: 8000 });
    expect(c.send('written')).toBe('sent');
    await until(() => server.received.length === 1);
    await server.stop();
    await until(() => c.state === 'reconnecting');
    expect(c.send('q1')).toBe('queued');
    expect(c.send('q2')).toBe('queued');
    expect(c.close().map((m) => m.event)).toEqual(['q1', 'q2']);
    expect(c.state).toBe('closed');
  });

  it('counts any inbound text as the answer to the heartbeat message', async () => {
    // This server never echoes: it answers 'ping' with 'pong' and everything else with nothing.
    const server = await rawServer(kind, { answer: (t) => (t === 'ping' ? 'pong' : undefined) });
    const c = rawClient(kind, server.port, { heartbeat: { message: 'ping', intervalMs: 100, timeoutMs: 400 } });
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m));
    const seen = closes(c);
    await c.waitFor('open', { timeoutMs: 8000 });
    await until(() => server.received.filter((t) => t === 'ping').length >= 5);
    expect(seen).toEqual([]);
    expect(server.peers).toHaveLength(1);
    expect(messages.length).toBeGreaterThanOrEqual(4);
    expect(new Set(messages)).toEqual(new Set(['pong']));
  });
});

describe('raw mode: transports and URLs', () => {
  it('skips long polling without sending it a single request', async () => {
    const server = await rawServer('websocket');
    const only = rawClient('websocket', server.port, { transports: ['longpoll'], reconnect: false });
    const error = await only.waitFor('error', { timeoutMs: 8000 });
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).message).toMatch(/longpoll needs the surelink protocol/);
    const c = rawClient('websocket', server.port, { transports: ['longpoll', 'websocket'] });
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: 'websocket', resumed: false });
    expect(server.requests).toEqual(['/echo']);
  });

  it('falls back from a refused WebSocket to SockJS without its WebSocket route, and never upgrades', async () => {
    const server = await rawServer('sockjs', { refuseWebSocket: true });
    // The WebSocket endpoint (outside the SockJS prefix) refuses; SockJS's URL is the override.
    const options: ClientOptions = {
      transports: ['websocket', 'sockjs'],
      upgrade: { initialDelayMs: 20, maxDelayMs: 40 },
      heartbeat: { message: 'tick', intervalMs: 40, timeoutMs: 400 },
    };
    const c = rawClient('sockjs', server.port, options, `ws://127.0.0.1:${server.port}/ws`);
    const switches: unknown[] = [];
    c.on('transport', (t) => switches.push(t));
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: 'sockjs', resumed: false });
    expect(server.peers.map((p) => p.protocol)).not.toContain('websocket');
    // Five heartbeats span many upgrade delays: still the one refused WebSocket attempt.
    await until(() => server.received.filter((t) => t === 'tick').length >= 5);
    expect(server.refusedUpgrades).toBe(1);
    expect(c.transport).toBe('sockjs');
    expect(server.peers).toHaveLength(1);
    expect(switches.filter((s) => (s as { to: string }).to === 'websocket')).toEqual([]);
  });

  it('derives the WebSocket and SockJS URLs from the main one: slash and fragment dropped, query kept', async () => {
    const ws = await rawServer('websocket');
    const viaWs = rawClient('websocket', ws.port, { urls: {} }, `ws://127.0.0.1:${ws.port}/echo/?room=a#x`);
    await viaWs.waitFor('open', { timeoutMs: 8000 });
    expect(ws.requests).toEqual(['/echo?room=a']);

    const sj = await rawServer('sockjs', { prefix: '/echo/sockjs' });
    const viaSockJS = rawClient('sockjs', sj.port, { urls: {} }, `ws://127.0.0.1:${sj.port}/echo/?room=a#x`);
    await viaSockJS.waitFor('open', { timeoutMs: 8000 });
    expect(sj.requests[0]).toBe('/echo/sockjs/info?room=a');
    expect(sj.requests.every((u) => u.startsWith('/echo/sockjs/') && !u.includes('#'))).toBe(true);
  });
});

describe('raw mode over SockJS: close codes', () => {
  it('takes a code from a SockJS close frame only when it is 1000 or 3000–4999; others, and a lost session, are 1006', async () => {
    const server = await rawServer('sockjs');
    const c = rawClient('sockjs', server.port);
    const seen = closes(c);
    await c.waitFor('open', { timeoutMs: 8000 });
    server.peers[0]?.close(1001, 'going away');
    await until(() => server.peers.length === 2 && c.state === 'open');
    server.peers[1]?.close(2999, 'odd');
    await until(() => server.peers.length === 3 && c.state === 'open');
    await server.stop();
    await until(() => seen.length === 3);
    expect(seen).toEqual([
      { code: 1006, willReconnect: true },
      { code: 1006, willReconnect: true },
      { code: 1006, willReconnect: true },
    ]);
  });
});

describe('raw mode: the heartbeat', () => {
  it("has none without a message, and SockJS's own heartbeat does not keep a silent server alive", async () => {
    // Silent but for sockjs's `h` frames every 50 ms.
    const server = await rawServer('sockjs', { answer: () => undefined, heartbeatDelay: 50 });
    const timing = { intervalMs: 100, timeoutMs: 200 };
    const withMessage = rawClient('sockjs', server.port, { heartbeat: { message: 'ping', ...timing } });
    const without = rawClient('sockjs', server.port, { heartbeat: timing });
    const closedWithout = closes(without);
    await without.waitFor('open', { timeoutMs: 8000 });
    await withMessage.waitFor('open', { timeoutMs: 8000 });
    await expect(withMessage.waitFor('close', { timeoutMs: 8000 })).resolves.toMatchObject({ code: 4000 });
    // The client with a message found the link dead; the one without never pinged or judged it.
    expect(server.received.every((t) => t === 'ping')).toBe(true);
    expect(closedWithout).toEqual([]);
    expect(without.state).toBe('open');
  });
});
