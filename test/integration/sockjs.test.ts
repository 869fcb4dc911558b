import { createServer, IncomingMessage } from 'node:http';
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AuthError } from '../../src/errors/index.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { createSockJSTransport } from '../../src/transports/sockjs.js';
import type { SockJSConstructor } from '../../src/transports/transport.js';
import { RealtimeClient } from '../../src/client/client.js';
import { listen } from '../helpers/servers.js';
import { until, useHarness } from '../helpers/harness.js';

type ServerEvents = { chat: { from: string; text: string }; n: { i: number } };
type ClientEvents = { chat: { text: string }; n: { i: number }; blob: string };

/** sockjs-client's Node build, injected (the other path, the lazy import, has its own test). */
const SockJS: SockJSConstructor = SockJSClient;

const { server, client, defer } = useHarness<ServerEvents, ClientEvents>({ transports: ['sockjs'], SockJS });

describe.each(['websocket', 'xhr-streaming', 'xhr-polling'])('client ↔ server over SockJS (%s)', (sub) => {
  const only = { transports: [createSockJSTransport({ transports: [sub] })] };

  it('handshakes with the real request, exchanges events both ways, requests and pings', async () => {
    const seen: { token: string | undefined; req: unknown }[] = [];
    const s = await server({
      authenticate: (token, req) => (seen.push({ token, req }), token === 'secret' && { user: 'ann' }),
    });
    const transports: (string | null)[] = [];
    s.rt.on('connection', (session) => {
      transports.push(session.transport);
      session.on('chat', ({ text }) => session.send('chat', { from: 'ann', text: text.toUpperCase() }));
    });
    s.rt.handle('add', (data) => (data as number[]).reduce((a, b) => a + b, 0));
    const c = client(s.url, { ...only, auth: 'secret' });
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: 'sockjs', resumed: false });
    expect(c.transport).toBe('sockjs');
    expect(transports).toEqual(['sockjs']);
    expect(seen).toHaveLength(1);
    const { token, req } = seen[0] as { token: string; req: IncomingMessage };
    expect(token).toBe('secret');
    expect(req).toBeInstanceOf(IncomingMessage);
    expect(req.url).toMatch(/^\/realtime\/sockjs\/[^/]+\/[^/]+\/(websocket|xhr_streaming|xhr)$/);
    expect(req.url).not.toContain('secret');
    const reply = c.waitFor('chat', { timeoutMs: 5000 });
    expect(c.send('chat', { text: 'hello' })).toBe('sent');
    await expect(reply).resolves.toEqual({ from: 'ann', text: 'HELLO' });
    await expect(c.request('add', [1, 2, 3])).resolves.toBe(6);
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('delivers 2000 numbered messages each way, complete and in order', async () => {
    const s = await server();
    const atServer: number[] = [];
    s.rt.on('connection', (session) => {
      session.on('n', ({ i }) => {
        atServer.push(i);
        if (atServer.length === 2000) for (let k = 1; k <= 2000; k++) session.send('n', { i: k });
      });
    });
    const c = client(s.url, only);
    const atClient: number[] = [];
    c.on('n', ({ i }) => atClient.push(i));
    await c.waitFor('open', { timeoutMs: 8000 });
    for (let k = 1; k <= 2000; k++) expect(c.send('n', { i: k })).toBe('sent');
    await until(() => atClient.length >= 2000, 15_000);
    const expected = Array.from({ length: 2000 }, (_, k) => k + 1);
    expect(atServer).toEqual(expected);
    expect(atClient).toEqual(expected);
  });
});

describe('SockJS endpoint', () => {
  it('loads sockjs-client through the lazy import when no constructor is injected', async () => {
    const s = await server();
    const c = new RealtimeClient(s.url, { transports: ['sockjs'], lifecycle: false, reconnect: false });
    defer(() => c.close());
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: 'sockjs', resumed: false });
  });

  it('brings session.close(code) to the client with that code: 4xxx is retried, 1000 stops', async () => {
    const s = await server();
    const codes = [4321, 1000];
    s.rt.on('connection', (session) => setTimeout(() => session.close(codes.shift(), 'bye'), 50));
    const c = client(s.url);
    const closes: { code: number; willReconnect: boolean }[] = [];
    c.on('close', ({ code, willReconnect }) => closes.push({ code, willReconnect }));
    await until(() => closes.length === 2 && c.state === 'closed');
    expect(closes).toEqual([
      { code: 4321, willReconnect: true },
      { code: 1000, willReconnect: false },
    ]);
  });

  it('reconnects after the server restarts and traffic flows again', async () => {
    const first = await server();
    const c = client(first.url);
    await c.waitFor('open', { timeoutMs: 8000 });
    const attempts: number[] = [];
    c.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    await first.stop();
    await until(() => attempts.length >= 2);
    const second = await server({}, first.port);
    second.rt.on('connection', (session) =>
      session.on('chat', ({ text }) => session.send('chat', { from: 'srv', text })),
    );
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: 'sockjs', resumed: false });
    const echo = c.waitFor('chat', { timeoutMs: 5000 });
    c.send('chat', { text: 'back' });
    await expect(echo).resolves.toEqual({ from: 'srv', text: 'back' });
  });

  it('refuses a disallowed origin with 4403 and the client stops', async () => {
    // sockjs-client on Node sends no Origin header, which this predicate refuses.
    const s = await server({ allowedOrigins: (origin) => origin !== undefined });
    let connections = 0;
    s.rt.on('connection', () => connections++);
    const c = client(s.url);
    const error = await c.waitFor('error', { timeoutMs: 8000 });
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).closeCode).toBe(4403);
    await until(() => c.state === 'closed');
    expect(connections).toBe(0);
  });

  it('sees the Origin header sockjs does not pass on (raw WebSocket route)', async () => {
    const origins: (string | undefined)[] = [];
    const s = await server({
      allowedOrigins: ['https://app.example'],
      authenticate: (_t, req) => (origins.push(req.headers.origin), true),
    });
    const open = (origin: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${s.port}/realtime/sockjs/websocket`, { origin });
      defer(() => ws.terminate());
      const frames: string[] = [];
      ws.on('open', () => ws.send(encodeFrame({ type: 'hello', v: 1, ack: 0 })));
      ws.on('message', (data: Buffer) => frames.push(data.toString()));
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      return { frames, closed };
    };
    const good = open('https://app.example');
    await until(() => good.frames.length > 0);
    expect(decodeFrame(good.frames[0] ?? '')).toMatchObject({ type: 'welcome' });
    expect(origins).toEqual(['https://app.example']);
    const bad = open('https://evil.example');
    expect(await bad.closed).toBe(4403);
    expect(bad.frames.map((f) => decodeFrame(f))).toEqual([
      { type: 'close', code: 4403, reason: 'origin not allowed' },
    ]);
    expect(origins).toHaveLength(1);
  });

  it('closes with 4413 on a frame over maxFrameBytes, which the client, told it in the welcome, refuses to send', async () => {
    const s = await server({ maxFrameBytes: 2000 });
    const c = client(s.url);
    await c.waitFor('open', { timeoutMs: 8000 });
    const blob = 'é'.repeat(1500); // 1500 characters, 3000 bytes
    expect(() => c.send('blob', blob)).toThrow('over 2000 bytes');
    // A peer that sends it anyway (sockjs-client alone, speaking the protocol by hand).
    const sock = new SockJS(`http://127.0.0.1:${s.port}/realtime/sockjs`);
    defer(() => sock.close());
    const frames: string[] = [];
    sock.onopen = () => sock.send(encodeFrame({ type: 'hello', v: 1, ack: 0 }));
    sock.onmessage = ({ data }) => {
      frames.push(String(data));
      if (frames.length === 1) sock.send(encodeFrame({ type: 'event', seq: 1, event: 'blob', data: blob }));
    };
    const code = await new Promise<number>((resolve) => (sock.onclose = (e) => resolve(e.code)));
    expect(code).toBe(4413);
    expect(decodeFrame(frames[0] ?? '')).toMatchObject({ type: 'welcome', b: 2000 });
    expect(decodeFrame(frames.at(-1) ?? '')).toMatchObject({ type: 'close', code: 4413 });
    expect(c.state).toBe('open');
  });

  it("takes only its prefix from the app's request handler and gives it back on close", async () => {
    const http = createServer((_req, res) => res.end('app'));
    const rt = createRealtimeServer({ server: http });
    const port = await listen(http);
    defer(() => new Promise<void>((resolve) => (http.closeAllConnections(), http.close(() => resolve()))));
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).text();
    expect(await get('/elsewhere')).toBe('app');
    expect(JSON.parse(await get('/realtime/sockjs/info'))).toMatchObject({ websocket: true });
    await rt.close();
    expect(await get('/realtime/sockjs/info')).toBe('app');
    expect(http.listenerCount('request')).toBe(1);
  });

  it('delivers the 1001 of server.close() to a polling client, then gives the prefix back', async () => {
    // A polling client collects the close frame with its next request: the prefix must still
    // reach sockjs then, or the poll gets the app's answer (or none) and the close is lost.
    const http = createServer((_req, res) => res.end('app'));
    const rt = createRealtimeServer({ server: http });
    const port = await listen(http);
    defer(() => new Promise<void>((resolve) => (http.closeAllConnections(), http.close(() => resolve()))));
    const sockjs = new SockJSClient(`http://127.0.0.1:${port}/realtime/sockjs`, undefined, {
      transports: ['xhr-polling'],
    });
    const messages: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => (sockjs.onclose = resolve));
    sockjs.onmessage = (m: { data: string }) => messages.push(m.data);
    await new Promise((resolve) => (sockjs.onopen = resolve));
    sockjs.send(encodeFrame({ type: 'hello', v: 1, ack: 0 }));
    await until(() => messages.length === 1);
    await rt.close();
    expect(await closed).toMatchObject({ code: 1001, reason: 'server shutting down' });
    expect(messages.map((m) => decodeFrame(m))).toMatchObject([
      { type: 'welcome' },
      { type: 'close', code: 1001, reason: 'server shutting down' },
    ]);
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).text();
    // sockjs forgets a closed session disconnect_delay (5 s) after the client's last request.
    const deadline = Date.now() + 10_000;
    while ((await get('/realtime/sockjs/info')) !== 'app' && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await get('/realtime/sockjs/info')).toBe('app');
    expect(http.listenerCount('request')).toBe(1);
  });
});
