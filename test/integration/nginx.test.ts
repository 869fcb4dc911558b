/**
 * surelink behind a real nginx (Debian's, from a temporary prefix: test/helpers/nginx.ts), as most
 * production deploys run it: the recommended config, the common misconfiguration without Upgrade
 * headers, a short proxy_read_timeout, and two upstream servers with and without stickiness. The
 * README's "Behind proxies and load balancers" cites this file. Each server here is its own
 * `createRealtimeServer` with its own sessions, as separate processes would be.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { TransportError } from '../../src/errors/transport.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { createSockJSTransport } from '../../src/transports/sockjs.js';
import type { TransportName } from '../../src/transports/transport.js';
import { silentLogger } from '../../src/util/logger.js';
import { until, useHarness } from '../helpers/harness.js';
import { memoryStorage } from '../helpers/memory-storage.js';
import { listen } from '../helpers/servers.js';
import { skipNginxTests, startNginx, type Nginx, type NginxConfig } from '../helpers/nginx.js';

type Events = { n: { i: number } };

const { client, defer } = useHarness<Events, Events>({ SockJS: SockJSClient, heartbeat: false });

const UPSTREAM = fileURLToPath(new URL('../fixtures/nginx/upstream.mjs', import.meta.url));

/** A server in its own process (test/fixtures/nginx/upstream.mjs) and what it reported. */
interface Upstream {
  port: number;
  /** The `n` events it received, in order. */
  readonly received: number[];
  /** Sessions it created. */
  sessions: number;
  /** Sends `n` `from..to` to its latest session. */
  send(from: number, to: number): void;
  /** Destroys every socket it holds: the upstream side of nginx's connections is cut. */
  cut(): void;
}

async function upstream(options: object = {}): Promise<Upstream> {
  const child = spawn(process.execPath, [UPSTREAM, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const up = { port: 0, received: [] as number[], sessions: 0 } as Upstream;
  child.on('message', (message: { port?: number; session?: number; n?: number }) => {
    if (message.port !== undefined) up.port = message.port;
    if (message.session !== undefined) up.sessions = message.session;
    if (message.n !== undefined) up.received.push(message.n);
  });
  up.send = (from, to) => child.send({ send: [from, to] });
  up.cut = () => child.send({ cut: true });
  await until(() => up.port > 0, 10_000);
  return up;
}

async function nginx(config: NginxConfig): Promise<Nginx> {
  const n = await startNginx(config);
  defer(() => n.stop());
  return n;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** Sends `from..to` each way (server to its latest session) and waits until both sides have them all. */
async function exchange(c: RealtimeClient<Events, Events>, at: number[], up: Upstream, from: number, to: number) {
  for (const i of range(from, to)) c.send('n', { i });
  up.send(from, to);
  await until(() => at.length >= to && up.received.length >= to, 10_000);
}

/**
 * `error` is the client's WebSocket failure for a handshake answered 426, as `ws` reports it
 * (`Unexpected server response: 426`), not a connect timeout: the attempt ended on the refusal.
 */
function expectRefused(error: unknown): void {
  expect(error).toBeInstanceOf(TransportError);
  expect(error).toMatchObject({
    transport: 'websocket',
    cause: { message: expect.stringMatching(/Unexpected server response: 426/) },
  });
}

const TRANSPORTS: Record<string, ClientOptions> = {
  websocket: { transports: ['websocket'] },
  sockjs: { transports: ['sockjs'] },
  longpoll: { transports: ['longpoll'] },
  'default order': {},
};

describe('a WebSocket handshake without its Upgrade header (no proxy needed)', () => {
  it('is answered 426 at once; other GETs to the path are left to the application', async () => {
    const http = createServer((_req, res) => res.end('app'));
    const rt = createRealtimeServer({ server: http });
    const port = await listen(http);
    defer(async () => {
      await rt.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${port}/realtime`;
    const key = { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' };
    const lost = await fetch(`${url}?x=1`, { headers: key, signal: AbortSignal.timeout(3000) });
    expect([lost.status, lost.headers.get('upgrade')]).toEqual([426, 'websocket']);
    await lost.text();
    const plain = await fetch(url, { signal: AbortSignal.timeout(3000) });
    expect(await plain.text()).toBe('app');
    const other = await fetch(`${url}/other`, { headers: key, signal: AbortSignal.timeout(3000) });
    expect(await other.text()).toBe('app');
  });

  it('a long poll for a connection this process does not hold names the likely cause', async () => {
    const http = createServer();
    const rt = createRealtimeServer({ server: http });
    const port = await listen(http);
    defer(async () => {
      await rt.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const res = await fetch(`http://127.0.0.1:${port}/realtime/poll?c=elsewhere`, {
      signal: AbortSignal.timeout(3000),
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/another server process/);
  });
});

describe.skipIf(skipNginxTests)('behind nginx', () => {
  describe('recommended config: proxy_http_version 1.1 with Upgrade and Connection', () => {
    it.each([
      ['websocket', 'websocket'],
      ['sockjs', 'sockjs'],
      ['longpoll', 'longpoll'],
      ['default order', 'websocket'],
    ] as const)(
      '%s: opens on %s, events and requests both ways, exactly once across an nginx restart',
      async (name, expected) => {
        const up = await upstream();
        const proxy = await nginx({ upstreams: [up.port], upgrade: true });
        const at: number[] = [];
        // A reconnect while nginx is down may walk down the chain (each transport refused) and resume
        // on long polling: a short upgrade delay brings it back to WebSocket within the test.
        const c = client(proxy.url, { ...TRANSPORTS[name], upgrade: { initialDelayMs: 300 } });
        c.on('n', ({ i }) => at.push(i));
        await expect(c.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: expected, resumed: false });
        await exchange(c, at, up, 1, 10);
        await expect(c.request('add', [1, 2, 3])).resolves.toBe(6);

        // Every client connection goes with the restart; meanwhile both sides go on sending.
        const reopened = c.waitFor('open', { timeoutMs: 10_000 });
        await proxy.restart();
        await exchange(c, at, up, 11, 20);
        await expect(reopened).resolves.toMatchObject({ resumed: true });
        await until(() => c.transport === expected, 5000);
        await exchange(c, at, up, 21, 30);
        await expect(c.request('add', [4, 5])).resolves.toBe(9);
        expect(at).toEqual(range(1, 30));
        expect(up.received).toEqual(range(1, 30));
        expect(up.sessions).toBe(1);
      },
    );
  });

  describe('plain proxy_pass: no Upgrade headers', () => {
    it('a WebSocket handshake is refused at once (426), not left to time out', async () => {
      const up = await upstream();
      const proxy = await nginx({ upstreams: [up.port], upgrade: false });
      const res = await fetch(proxy.url.replace('ws:', 'http:'), {
        headers: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' },
        signal: AbortSignal.timeout(3000),
      });
      expect(res.status).toBe(426);
      await res.text();
      // A connect timeout longer than the test's own: only the refusal can end the attempt while it runs.
      const c = client(proxy.url, { transports: ['websocket'], reconnect: false, connectTimeoutMs: 60_000 });
      const started = Date.now();
      const error = await c.waitFor('error', { timeoutMs: 15_000 });
      if (process.env.NGINX_TIMES) console.log(`no Upgrade headers: ${error.message} after ${Date.now() - started} ms`);
      expectRefused(error);
    });

    it('default order falls back to SockJS on the refusal, not a timeout, stays there across a restart, loses nothing', async () => {
      const up = await upstream();
      const proxy = await nginx({ upstreams: [up.port], upgrade: false });
      const at: number[] = [];
      // The client emits no `error` for a transport it falls back from; its logger is told why each failed.
      const failed: unknown[] = [];
      const logger = {
        ...silentLogger,
        debug: (message: string, error?: unknown) =>
          void (message === 'surelink: websocket failed' && failed.push(error)),
      };
      const started = Date.now();
      // As above, a connect timeout longer than the test's: the fallback cannot come from waiting one out.
      const c = client(proxy.url, { upgrade: false, connectTimeoutMs: 60_000, logger });
      c.on('n', ({ i }) => at.push(i));
      await expect(c.waitFor('open', { timeoutMs: 15_000 })).resolves.toEqual({ transport: 'sockjs', resumed: false });
      const fellBackMs = Date.now() - started;
      if (process.env.NGINX_TIMES) console.log(`no Upgrade headers: open on sockjs after ${fellBackMs} ms`);
      // 24-64 ms measured; before the 426 it was the whole connect timeout (3.5 s) and then some.
      expect(failed).toHaveLength(1);
      expectRefused(failed[0]);
      await exchange(c, at, up, 1, 10);
      const transports: (TransportName | null)[] = [];
      c.on('transport', ({ to }) => transports.push(to));
      const reopened = c.waitFor('open', { timeoutMs: 10_000 });
      await proxy.restart();
      await exchange(c, at, up, 11, 20);
      await expect(reopened).resolves.toEqual({ transport: 'sockjs', resumed: true });
      expect(transports).toEqual([]); // the reconnect went straight to SockJS
      expect(at).toEqual(range(1, 20));
      expect(up.received).toEqual(range(1, 20));
    });

    it('a client on long polling moves up to SockJS at its upgrade probe, WebSocket refused, losing nothing', async () => {
      const up = await upstream();
      const proxy = await nginx({ upstreams: [up.port], upgrade: false });
      const at: number[] = [];
      // Long polling remembered for this endpoint (where only polling got through, or an attempt walked on to it
      // while the server was away): the page starts there, and its probes try WebSocket, then SockJS.
      const entries = new Map<string, string>();
      const storage = memoryStorage(entries);
      const key = `surelink:transport:${new URL(proxy.url).host}/realtime`;
      entries.set(key, `longpoll@${Date.now()}`);
      const c = client(proxy.url, { rememberTransport: { storage }, upgrade: { initialDelayMs: 300 } });
      c.on('n', ({ i }) => at.push(i));
      const transports: [TransportName | null, TransportName][] = [];
      c.on('transport', ({ from, to }) => transports.push([from, to]));
      await expect(c.waitFor('open', { timeoutMs: 15_000 })).resolves.toEqual({
        transport: 'longpoll',
        resumed: false,
      });
      const moved = c.waitFor('transport', { timeoutMs: 20_000 }); // the probe runs 300 ms after the open
      await exchange(c, at, up, 1, 10);
      await moved;
      await exchange(c, at, up, 11, 20);
      expect(transports).toEqual([
        [null, 'longpoll'],
        ['longpoll', 'sockjs'],
      ]);
      expect(c.transport).toBe('sockjs');
      expect(entries.get(key)).toMatch(/^sockjs@/); // the next page load starts on SockJS
      expect(at).toEqual(range(1, 20));
      expect(up.received).toEqual(range(1, 20));
      expect(up.sessions).toBe(1);
    });

    it("SockJS's XHR streaming gets through: the server turns nginx's response buffering off for it", async () => {
      const up = await upstream();
      const proxy = await nginx({ upstreams: [up.port], upgrade: false });
      const at: number[] = [];
      // Without `X-Accel-Buffering: no` nginx passed none of the stream on: no open frame, no events.
      const streaming = createSockJSTransport({ transports: ['xhr-streaming'] });
      const c = client(proxy.url, { transports: [streaming], reconnect: false });
      c.on('n', ({ i }) => at.push(i));
      await expect(c.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: 'sockjs', resumed: false });
      await exchange(c, at, up, 1, 10);
      expect(at).toEqual(range(1, 10));
      expect(up.received).toEqual(range(1, 10));
    });
  });

  describe('proxy_read_timeout 3s', () => {
    const idleCloses = async (name: string, serverOptions: object): Promise<number> => {
      const up = await upstream(serverOptions);
      const proxy = await nginx({ upstreams: [up.port], upgrade: true, readTimeout: '3s' });
      const c = client(proxy.url, { ...TRANSPORTS[name], heartbeat: { intervalMs: 20_000, timeoutMs: 10_000 } });
      await c.waitFor('open', { timeoutMs: 5000 });
      let closes = 0;
      c.on('close', () => closes++);
      await new Promise((resolve) => setTimeout(resolve, 4500));
      const at: number[] = [];
      c.on('n', ({ i }) => at.push(i));
      await exchange(c, at, up, 1, 5);
      expect(at).toEqual(range(1, 5));
      expect(up.received).toEqual(range(1, 5));
      return closes;
    };

    it('default server timers: cut when idle 3 s on every transport; timers below it: never cut', async () => {
      const tuned = { heartbeat: { intervalMs: 1000 }, longPoll: { pollTimeoutMs: 1000 } };
      const names = ['websocket', 'sockjs', 'longpoll'];
      const closes = await Promise.all([
        ...names.map((name) => idleCloses(name, {})),
        ...names.map((name) => idleCloses(name, tuned)),
      ]);
      if (process.env.NGINX_TIMES) console.log('closes in 4.5 s idle, defaults then tuned:', names, closes);
      expect(closes.slice(0, 3).every((n) => n >= 1)).toBe(true);
      expect(closes.slice(3)).toEqual([0, 0, 0]);
    });
  });

  describe('two upstream servers', () => {
    // SockJS over HTTP requests (what it uses when WebSocket cannot get through), as long polling:
    // every request of a connection must reach the process that holds it.
    const sockjsHttp = { transports: [createSockJSTransport({ transports: ['xhr-streaming', 'xhr-polling'] })] };

    it.each([
      ['longpoll', TRANSPORTS.longpoll],
      ['sockjs over HTTP', sockjsHttp],
    ] as const)('ip_hash: %s opens, exchanges and resumes on one process', async (_name, options) => {
      const [a, b] = [await upstream(), await upstream()];
      const proxy = await nginx({ upstreams: [a.port, b.port], upgrade: true, ipHash: true });
      const c = client(proxy.url, options);
      const at: number[] = [];
      c.on('n', ({ i }) => at.push(i));
      await c.waitFor('open', { timeoutMs: 5000 });
      await until(() => a.sessions + b.sessions === 1);
      const up = a.sessions > 0 ? a : b;
      await exchange(c, at, up, 1, 10);
      const reopened = c.waitFor('open', { timeoutMs: 10_000 });
      await proxy.restart();
      await exchange(c, at, up, 11, 20);
      await expect(reopened).resolves.toMatchObject({ resumed: true });
      expect(at).toEqual(range(1, 20));
      expect(up.received).toEqual(range(1, 20));
      expect(a.sessions + b.sessions).toBe(1);
    });

    it.each([
      ['longpoll', TRANSPORTS.longpoll],
      ['sockjs over HTTP', sockjsHttp],
    ] as const)('round-robin: %s does not stay open, and retries with backoff', async (_name, options) => {
      const [a, b] = [await upstream(), await upstream()];
      const proxy = await nginx({ upstreams: [a.port, b.port], upgrade: true });
      // No jitter: each retry waits its backoff's cap, 200 ms doubled per failure of the streak.
      const reconnect = { initialDelayMs: 200, maxDelayMs: 2000, jitter: 'none' } as const;
      const c = client(proxy.url, { ...options, reconnect });
      const started = Date.now();
      const errors: string[] = [];
      const retries: { attempt: number; delayMs: number }[] = [];
      c.on('error', (error) => errors.push(error.message));
      c.on('reconnecting', (retry) => retries.push(retry));
      await until(() => retries.length >= 4, 15_000);
      if (process.env.NGINX_TIMES)
        console.log(`round-robin ${_name}: ${errors.length} errors in ${Date.now() - started} ms:`, errors);
      expect(c.state).not.toBe('open');
      expect(errors.length).toBeGreaterThan(0);
      // Backoff, not a retry at the first delay each time: no connection lasted long enough to start
      // the streak over, so each retry waits twice as long as the one before.
      expect(retries.slice(0, 4)).toEqual([200, 400, 800, 1600].map((delayMs, k) => ({ attempt: k + 1, delayMs })));
    });

    it('round-robin: WebSocket opens, but a reconnect lands on the other process: a new session', async () => {
      const [a, b] = [await upstream(), await upstream()];
      const proxy = await nginx({ upstreams: [a.port, b.port], upgrade: true });
      const c = client(proxy.url, { transports: ['websocket'] });
      await expect(c.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: 'websocket', resumed: false });
      await until(() => a.sessions + b.sessions === 1);
      const first = a.sessions > 0 ? a : b;
      const reopened = c.waitFor('open', { timeoutMs: 10_000 });
      first.cut();
      await expect(reopened).resolves.toEqual({ transport: 'websocket', resumed: false });
      await until(() => a.sessions + b.sessions === 2);
      expect([a.sessions, b.sessions]).toEqual([1, 1]);
    });
  });
});
