import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AuthError, ProtocolError } from '../../src/errors/index.js';
import { STEP_MS, advanceInSteps, closeOnClock, reopen, settle } from '../helpers/clock-steps.js';
import { until, useHarness } from '../helpers/harness.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { listen } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

interface ServerEvents {
  chat: { from: string; text: string };
}
interface ClientEvents {
  chat: { text: string };
}

const { server, client, defer } = useHarness<ServerEvents, ClientEvents>();

describe('client ↔ server over WebSocket', () => {
  it('authenticates from the first frame, exchanges events both ways, requests and pings', async () => {
    const tokens: (string | undefined)[] = [];
    const urls: (string | undefined)[] = [];
    const s = await server({
      authenticate: (token, req) => {
        tokens.push(token);
        urls.push(req.url);
        return token === 'secret' ? { user: 'ann' } : false;
      },
    });
    s.rt.on('connection', (session) =>
      session.on('chat', ({ text }) => s.rt.broadcast('chat', { from: 'ann', text: text.toUpperCase() })),
    );
    s.rt.handle('add', (data) => (data as number[]).reduce((a, b) => a + b, 0));
    const c = client(s.url, { auth: 'secret' });
    const opened = await c.waitFor('open', { timeoutMs: 5000 });
    expect(opened).toEqual({ transport: 'websocket', resumed: false });
    expect(tokens).toEqual(['secret']);
    expect(urls.join()).not.toContain('secret');
    const reply = c.waitFor('chat', { timeoutMs: 5000 });
    expect(c.send('chat', { text: 'hello' })).toBe('sent');
    await expect(reply).resolves.toEqual({ from: 'ann', text: 'HELLO' });
    await expect(c.request('add', [1, 2, 3])).resolves.toBe(6);
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('stops after an auth rejection: one attempt, a typed error, state closed', async () => {
    const s = await server({ authenticate: () => false });
    let attempts = 0;
    s.http.on('upgrade', () => attempts++);
    const c = client(s.url, { auth: 'wrong' });
    const error = await c.waitFor('error', { timeoutMs: 5000 });
    expect(error).toBeInstanceOf(AuthError);
    await until(() => c.state === 'closed');
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toBe(1);
  });

  it('reconnects with backoff after the server restarts and traffic flows again', async () => {
    const first = await server();
    const port = first.port;
    const c = client(first.url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const attempts: number[] = [];
    c.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    await first.stop();
    await until(() => attempts.length >= 2);
    const second = await server({}, port);
    second.rt.on('connection', (session) =>
      session.on('chat', ({ text }) => session.send('chat', { from: 'srv', text })),
    );
    const reopened = await c.waitFor('open', { timeoutMs: 8000 });
    expect(reopened.resumed).toBe(false);
    const echo = c.waitFor('chat', { timeoutMs: 5000 });
    c.send('chat', { text: 'back' });
    await expect(echo).resolves.toEqual({ from: 'srv', text: 'back' });
    expect(attempts[0]).toBe(1);
  });

  it('detects a half-open link (proxy stops forwarding) after interval + timeout and resumes', async () => {
    // Time is the test's: the client's clock moves in steps with real I/O between them, the
    // server's stands still (it cannot notice the black hole first).
    const serverClock = new ManualClock();
    const clock = new ManualClock();
    const s = await server({ clock: serverClock });
    const proxy = await TcpProxy.start(s.port);
    defer(() => proxy.close());
    defer(() => closeOnClock(s, serverClock));
    const c = client(`ws://127.0.0.1:${proxy.port}/realtime`, {
      clock,
      heartbeat: { intervalMs: 300, timeoutMs: 300 },
    });
    const closes: { code: number; at: number }[] = [];
    c.on('close', ({ code }) => closes.push({ code, at: clock.now() }));
    await reopen(c, clock);
    proxy.mode = 'blackhole';
    await settle(); // bytes already past the proxy arrive before the clock moves
    const since = clock.now();
    await advanceInSteps(clock, 600 - 1);
    await settle(100);
    expect(closes).toEqual([]); // not before interval + timeout of silence
    clock.advance(STEP_MS);
    await until(() => closes.length > 0);
    expect(closes).toEqual([{ code: 4000, at: expect.any(Number) }]);
    expect(closes[0]?.at).toBeGreaterThanOrEqual(since + 600);
    expect(closes[0]?.at).toBeLessThan(since + 600 + STEP_MS);
    proxy.mode = 'forward';
    const reopened = await reopen(c, clock);
    expect(reopened.resumed).toBe(true);
  });

  it('survives garbage from a server: typed protocol error, close 4400, reconnect', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const closes: number[] = [];
    let connections = 0;
    wss.on('connection', (socket) => {
      connections++;
      socket.on('message', () => socket.send('{"garbage": true'));
      socket.on('close', (code) => closes.push(code));
    });
    const port = await listen(http);
    defer(
      () =>
        new Promise<void>((r) => {
          wss.close();
          http.closeAllConnections();
          http.close(() => r());
        }),
    );
    const c = client(`ws://127.0.0.1:${port}/realtime`, { transports: ['websocket'] });
    const error = await c.waitFor('error', { timeoutMs: 5000 });
    expect(error).toBeInstanceOf(ProtocolError);
    // The reconnect may reach the server before the first socket's close event does (its close
    // handshake ends after the client moved on): wait for both, then look at the code.
    await until(() => connections >= 2 && closes.length >= 1);
    expect(closes[0]).toBe(4400);
  });
});
