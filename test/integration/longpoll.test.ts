import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../src/errors/index.js';
import type { ConnectionCallbacks, ServerConnection } from '../../src/server/connection.js';
import { attachLongPollEndpoint } from '../../src/server/endpoints/longpoll.js';
import { MAX_DELAY_MS, systemClock } from '../../src/util/clock.js';
import type { Clock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { listen, startServer } from '../helpers/servers.js';
import { until, useHarness } from '../helpers/harness.js';

type ServerEvents = { chat: { from: string; text: string }; n: number; tick: number };
type ClientEvents = { chat: { text: string }; n: number; bye: null };

const { server, client, defer } = useHarness<ServerEvents, ClientEvents>({ transports: ['longpoll'] });

/** Plain HTTP against the endpoint, the way a browser's fetch would talk to it. */
function raw(base: string) {
  const poll = `${base.replace(/^ws/, 'http')}/poll`;
  return {
    poll,
    async open(headers: Record<string, string> = {}): Promise<string> {
      const res = await fetch(poll, { method: 'POST', headers });
      expect(res.status).toBe(200);
      return ((await res.json()) as { c: string }).c;
    },
    at: (id: string) => `${poll}?c=${id}`,
  };
}

describe('long polling: client ↔ server', () => {
  it('handshakes from the opening POST, exchanges events both ways, requests and pings', async () => {
    const requests: string[] = [];
    const s = await server({
      authenticate: (token, req) => {
        requests.push(`${req.method} ${req.url}`);
        return token === 'secret' ? 'ann' : false;
      },
    });
    s.rt.on('connection', (session) =>
      session.on('chat', ({ text }) => session.send('chat', { from: 'srv', text: text.toUpperCase() })),
    );
    s.rt.handle('add', (data) => (data as number[]).reduce((a, b) => a + b, 0));
    const c = client(s.url, { auth: 'secret' });
    await expect(c.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: 'longpoll', resumed: false });
    expect(requests).toEqual(['POST /realtime/poll']);
    expect(c.transport).toBe('longpoll');
    const reply = c.waitFor('chat', { timeoutMs: 5000 });
    expect(c.send('chat', { text: 'hello' })).toBe('sent');
    await expect(reply).resolves.toEqual({ from: 'srv', text: 'HELLO' });
    await expect(c.request('add', [1, 2, 3])).resolves.toBe(6);
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });

  it('carries a flood of 2000 numbered messages each way, complete and in order', async () => {
    const s = await server();
    const atServer: number[] = [];
    s.rt.on('connection', (session) => session.on('n', (n) => atServer.push(n)));
    const c = client(s.url);
    const atClient: number[] = [];
    c.on('n', (n) => atClient.push(n));
    await c.waitFor('open', { timeoutMs: 5000 });
    const session = [...s.rt.sessions.values()][0];
    for (let i = 1; i <= 2000; i++) {
      expect(c.send('n', i)).toBe('sent');
      session?.send('n', i);
    }
    await until(() => atServer.length >= 2000 && atClient.length >= 2000, 15_000);
    const expected = Array.from({ length: 2000 }, (_, i) => i + 1);
    expect(atServer).toEqual(expected);
    expect(atClient).toEqual(expected);
  });

  it('delivers a server-side session.close(code) to the client', async () => {
    const s = await server();
    s.rt.on('connection', (session) => setTimeout(() => session.close(1000, 'bye'), 20));
    const c = client(s.url);
    await c.waitFor('open', { timeoutMs: 5000 });
    await expect(c.waitFor('close', { timeoutMs: 5000 })).resolves.toEqual({
      code: 1000,
      reason: 'bye',
      willReconnect: false,
    });
    await until(() => c.state === 'closed');
  });

  it('reconnects and resumes when the server no longer knows the connection id (404 → 4404)', async () => {
    const s = await server();
    const atServer: number[] = [];
    s.rt.on('connection', (session) => session.on('n', (n) => atServer.push(n)));
    let spoil = false;
    const statuses: number[] = [];
    const spoiling: typeof fetch = async (input, init) => {
      let url = String(input);
      if (spoil && url.includes('c=')) {
        spoil = false;
        url = url.replace(/([?&]c=)[^&]*/, '$1never-issued');
      }
      const res = await fetch(url, init);
      statuses.push(res.status);
      return res;
    };
    const c = client(s.url, { fetch: spoiling });
    await c.waitFor('open', { timeoutMs: 5000 });
    c.send('n', 1);
    await until(() => atServer.length === 1);
    spoil = true;
    const closed = c.waitFor('close', { timeoutMs: 5000 });
    const reopened = c.waitFor('open', { timeoutMs: 8000 });
    [...s.rt.sessions.values()][0]?.send('n', 0); // answers the held poll; the next request is spoiled
    await expect(closed).resolves.toMatchObject({ code: 4404, willReconnect: true });
    await expect(reopened).resolves.toEqual({ transport: 'longpoll', resumed: true });
    expect(statuses).toContain(404);
    c.send('n', 2);
    await until(() => atServer.length === 2);
    expect(atServer).toEqual([1, 2]);
    expect(s.rt.sessions.size).toBe(1);
  });

  it('keeps reconnecting when the server is stopped', async () => {
    const s = await startServer<ClientEvents, ServerEvents>();
    let stopped = false;
    defer(() => (stopped ? undefined : s.stop()));
    const c = client(s.url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const attempts: number[] = [];
    c.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    const closed = c.waitFor('close', { timeoutMs: 5000 });
    stopped = true;
    await s.stop();
    await expect(closed).resolves.toMatchObject({ code: 1001, willReconnect: true });
    await until(() => attempts.length >= 2);
    expect(['reconnecting', 'connecting']).toContain(c.state);
  });

  it('enforces the origin allow-list: 403 for others, CORS headers for allowed ones', async () => {
    const s = await server({ allowedOrigins: ['http://good.test'] });
    const r = raw(s.url);
    const refused = await fetch(r.poll, { method: 'POST', headers: { Origin: 'http://evil.test' } });
    expect(refused.status).toBe(403);
    // Readable by the refused page, which then stops (4403) instead of retrying a network error.
    expect(refused.headers.get('access-control-allow-origin')).toBe('http://evil.test');
    const ok = await fetch(r.poll, { method: 'POST', headers: { Origin: 'http://good.test' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://good.test');
    expect(ok.headers.get('vary')).toBe('Origin');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const { c: id } = (await ok.json()) as { c: string };
    expect((await fetch(r.at(id), { method: 'DELETE', headers: { Origin: 'http://good.test' } })).status).toBe(204);
    const pre = await fetch(r.poll, {
      method: 'OPTIONS',
      headers: { Origin: 'http://good.test', 'Access-Control-Request-Method': 'DELETE' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(pre.headers.get('access-control-allow-headers')).toBe('Content-Type');
    const withOrigin: typeof fetch = (input, init) =>
      fetch(input, { ...init, headers: { ...init?.headers, Origin: 'http://evil.test' } });
    const c = client(s.url, { fetch: withOrigin });
    await expect(c.waitFor('error', { timeoutMs: 5000 })).resolves.toBeInstanceOf(AuthError);
    await until(() => c.state === 'closed');
  });

  it('answers an oversize body 413 and a malformed one 400 (both end the connection); a bad frame closes 4400', async () => {
    const s = await server({ longPoll: { maxBodyBytes: 1024 } });
    const r = raw(s.url);
    const headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
    const big = await r.open();
    const tooLarge = await fetch(r.at(big), {
      method: 'POST',
      headers,
      body: JSON.stringify([['e', 1, 'x', 'y'.repeat(4096)]]),
    });
    expect(tooLarge.status).toBe(413);
    expect((await fetch(r.at(big))).status).toBe(404);
    const bad = await r.open();
    expect((await fetch(r.at(bad), { method: 'POST', headers, body: '{"not":"frames"}' })).status).toBe(400);
    expect((await fetch(r.at(bad), { method: 'DELETE' })).status).toBe(404);
    const odd = await r.open(); // a JSON array of arrays, but no valid hello: bad input, not a bad body
    expect((await fetch(r.at(odd), { method: 'POST', headers, body: '[["zz"]]' })).status).toBe(204);
    const last = (await (await fetch(r.at(odd))).json()) as unknown[][];
    expect(last.map((frame) => frame.slice(0, 2))).toEqual([['c', 4400]]);
    expect((await fetch(r.at(odd))).status).toBe(404);
  });

  it('answers a POST 204 for 10 s after a GET took its close frame (it crossed that answer), then 404', async () => {
    const clock = new ManualClock();
    const s = await server({ clock });
    s.rt.on('connection', (session) => session.close(1000, 'bye'));
    const r = raw(s.url);
    const id = await r.open();
    expect((await fetch(r.at(id), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' })).status).toBe(204);
    const frames = (await (await fetch(r.at(id))).json()) as unknown[][];
    expect(frames.at(-1)?.slice(0, 2)).toEqual(['c', 1000]);
    expect((await fetch(r.at(id), { method: 'POST', body: '[["e","late",null]]' })).status).toBe(204);
    expect((await fetch(r.at(id))).status).toBe(404); // a GET after the close frame: nothing to wait for
    clock.advance(9_999);
    expect((await fetch(r.at(id), { method: 'POST', body: '[]' })).status).toBe(204);
    clock.advance(1);
    expect((await fetch(r.at(id), { method: 'POST', body: '[]' })).status).toBe(404);
    // A wall clock set back: a farewell from before the step does not wait for the clock to catch up.
    const again = await r.open();
    expect((await fetch(r.at(again), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' })).status).toBe(204);
    await fetch(r.at(again)); // takes its close frame
    clock.advance(-3_600_000);
    expect((await fetch(r.at(again), { method: 'POST', body: '[]' })).status).toBe(404);
    // Ended without a close frame (DELETE): a POST gets 404 at once.
    const other = await r.open();
    expect((await fetch(r.at(other), { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(r.at(other), { method: 'POST', body: '[]' })).status).toBe(404);
  });

  it('speaks the HTTP mapping: held polls, newer GET wins, DELETE, unknown ids', async () => {
    // The server's clock moves only when the test moves it: no GET is answered by pollTimeoutMs meanwhile.
    const clock = new ManualClock();
    const s = await server({ longPoll: { pollTimeoutMs: 300 }, clock });
    const r = raw(s.url);
    const id = await r.open();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    const hello = await fetch(r.at(id), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    expect(hello.status).toBe(204);
    const welcome = await fetch(r.at(id));
    expect(welcome.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await welcome.json()) as unknown[][])[0]?.[0]).toBe('w');
    // The endpoint takes a GET before later 'request' listeners see it: one seen here is held.
    const held: ServerResponse[] = [];
    s.http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'GET') held.push(res);
    });
    const older = fetch(r.at(id));
    await until(() => held.length === 1);
    const newer = fetch(r.at(id));
    await expect((await older).text()).resolves.toBe('[]'); // completed by the newer GET: no time has passed
    expect(held).toHaveLength(2);
    clock.advance(299);
    expect(held[1]?.writableEnded).toBe(false); // held for pollTimeoutMs
    clock.advance(1);
    expect(held[1]?.writableEnded).toBe(true);
    await expect((await newer).text()).resolves.toBe('[]');
    expect((await fetch(r.at(id), { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(r.at(id))).status).toBe(404);
    expect((await fetch(r.at('never-issued'), { method: 'POST', body: '[]' })).status).toBe(404);
  });
});

describe('long polling: numbered batches (a POST answered with what it produced)', () => {
  it('answers a POST with the frames its own frames produced, numbered with the GET responses', async () => {
    const s = await server();
    s.rt.on('connection', (session) => {
      session.on('chat', ({ text }) => session.send('chat', { from: 'srv', text }));
      session.on('bye', () => session.close(1000, 'bye'));
    });
    const r = raw(s.url);
    const opened = await fetch(r.poll, { method: 'POST', body: '{"n":1}' });
    const { c: id } = (await opened.json()) as { c: string };
    // authenticate is asynchronous: the answer still waits for it, so welcome comes back at once.
    const hello = await fetch(r.at(id), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    expect(hello.status).toBe(200);
    const welcome = (await hello.json()) as unknown[];
    expect(welcome[0]).toBe(1);
    expect((welcome[1] as unknown[])[0]).toBe('w');
    const echo = await fetch(r.at(id), { method: 'POST', body: '[["e",1,"chat",{"text":"hi"}]]' });
    expect(echo.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await echo.json()).toEqual([2, ['e', 1, 'chat', { from: 'srv', text: 'hi' }]]);
    // Nothing produced: 204. The ack for event 1 is due 50 ms later and comes in a GET, numbered 3.
    expect((await fetch(r.at(id), { method: 'POST', body: '[["o",5]]' })).status).toBe(204);
    expect(await (await fetch(r.at(id))).json()).toEqual([3, ['a', 1]]);
    // A close frame never comes in a POST response: a GET gets it, so no GET finds the id gone first.
    const bye = await fetch(r.at(id), { method: 'POST', body: '[["e",2,"bye",null]]' });
    expect(bye.status).toBe(204);
    const last = (await (await fetch(r.at(id))).json()) as unknown[];
    expect(last[0]).toBe(4);
    expect((last.at(-1) as unknown[]).slice(0, 3)).toEqual(['c', 1000, 'bye']);
    expect((await fetch(r.at(id))).status).toBe(404);
  });

  it("answers a GET still held when the client's own close frame ends the connection with 204, not 404", async () => {
    const s = await server();
    const r = raw(s.url);
    const { c: id } = (await (await fetch(r.poll, { method: 'POST', body: '{"n":1}' })).json()) as { c: string };
    await fetch(r.at(id), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    const held = fetch(r.at(id)); // the welcome came in the POST answer: this GET waits
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await fetch(r.at(id), { method: 'POST', body: '[["c",1000,"bye"]]' })).status).toBe(204);
    expect((await held).status).toBe(204);
    expect((await fetch(r.at(id))).status).toBe(404); // the id is gone for anything later
  });

  it('sends only the newest of the cumulative acks a POST produced', async () => {
    const s = await server();
    const r = raw(s.url);
    const { c: id } = (await (await fetch(r.poll, { method: 'POST', body: '{"n":1}' })).json()) as { c: string };
    await fetch(r.at(id), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    const events = Array.from({ length: 200 }, (_, i) => JSON.stringify(['e', i + 1, 'n', i + 1]));
    const answer = await fetch(r.at(id), { method: 'POST', body: `[${events.join(',')}]` });
    expect(await answer.json()).toEqual([2, ['a', 192]]); // acks go every 64 frames: 64 and 128 were superseded
    expect(await (await fetch(r.at(id))).json()).toEqual([3, ['a', 200]]); // the rest, 50 ms later
  });

  it('keeps unnumbered 204 answers for a client that did not ask (an older client)', async () => {
    const s = await server();
    s.rt.on('connection', (session) => session.on('chat', ({ text }) => session.send('chat', { from: 'srv', text })));
    const r = raw(s.url);
    const id = await r.open();
    expect((await fetch(r.at(id), { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' })).status).toBe(204);
    expect(((await (await fetch(r.at(id))).json()) as unknown[][])[0]?.[0]).toBe('w');
    expect((await fetch(r.at(id), { method: 'POST', body: '[["e",1,"chat",{"text":"hi"}]]' })).status).toBe(204);
    expect(await (await fetch(r.at(id))).json()).toEqual([['e', 1, 'chat', { from: 'srv', text: 'hi' }]]);
    expect((await fetch(r.at(id), { method: 'DELETE' })).status).toBe(204);
  });

  it('keeps server order when GET responses overtake delayed POST responses: no gap, no duplicate, no reconnect', async () => {
    const s = await server();
    const sent: string[] = [];
    s.rt.on('connection', (session) =>
      session.on('n', (n) => {
        session.send('n', n); // in the answer to the POST that carried it
        sent.push(`n${n}`);
        setTimeout(() => {
          session.send('tick', n); // in a GET response, while that POST answer is held up below
          sent.push(`tick${n}`);
        }, 1);
      }),
    );
    const arrivals: number[] = []; // batch numbers in the order the responses reached the client
    const delayingPosts: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = await res.clone().text();
      if (init?.method === 'POST' && String(input).includes('c=')) await new Promise((r) => setTimeout(r, 25));
      if (body.startsWith('[') && body !== '[]') arrivals.push((JSON.parse(body) as unknown[])[0] as number);
      return res;
    };
    const c = client(s.url, { fetch: delayingPosts });
    const got: string[] = [];
    const closes: unknown[] = [];
    c.on('n', (n) => got.push(`n${n}`));
    c.on('tick', (n) => got.push(`tick${n}`));
    c.on('close', (info) => closes.push(info));
    await c.waitFor('open', { timeoutMs: 5000 });
    for (let i = 1; i <= 30; i++) {
      c.send('n', i);
      await new Promise((r) => setTimeout(r, 3));
    }
    await until(() => got.length === 60, 10_000);
    expect(got).toEqual(sent);
    expect(closes).toEqual([]);
    expect(c.state).toBe('open');
    // The case under test did happen: some response arrived before one numbered lower.
    expect(arrivals.some((n, i) => i > 0 && n < (arrivals[i - 1] ?? 0))).toBe(true);
  });

  it('delivers a close the application decided while handling a POST', async () => {
    const s = await server();
    s.rt.on('connection', (session) => session.on('bye', () => session.close(1000, 'bye')));
    const c = client(s.url);
    await c.waitFor('open', { timeoutMs: 5000 });
    const closed = c.waitFor('close', { timeoutMs: 5000 });
    c.send('bye', null);
    await expect(closed).resolves.toEqual({ code: 1000, reason: 'bye', willReconnect: false });
  });
});

/**
 * The long-polling endpoint alone on `http` (no session logic): the close code of every connection
 * it ends is collected in `closes`. Stopped after the test.
 */
async function endpointAlone(
  http: Server,
  options: Pick<Parameters<typeof attachLongPollEndpoint>[0], 'path' | 'pollTimeoutMs' | 'idleGraceMs' | 'clock'>,
): Promise<{ base: string; closes: number[] }> {
  const closes: number[] = [];
  const accept = (_c: ServerConnection): ConnectionCallbacks => ({
    onMessage: () => {},
    onProtocolError: () => {},
    onClose: (code) => closes.push(code),
  });
  const endpoint = attachLongPollEndpoint({
    server: http,
    maxFrameBytes: 1024,
    allowOrigin: () => true,
    logger: silentLogger,
    accept,
    ...options,
  });
  const port = await listen(http);
  defer(
    () =>
      new Promise<void>((resolve) => {
        endpoint.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  );
  return { base: `http://127.0.0.1:${port}`, closes };
}

describe('long-polling endpoint on its own', () => {
  it('leaves other requests to a catch-all app handler and forgets idle connections (1006)', async () => {
    const http = createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('app 404');
    });
    const clock = new ManualClock();
    const { base, closes } = await endpointAlone(http, { path: '/rt/', pollTimeoutMs: 100, idleGraceMs: 100, clock });
    const other = await fetch(`${base}/elsewhere`);
    expect([other.status, await other.text()]).toEqual([404, 'app 404']);
    const opened = await fetch(`${base}/rt/poll`, { method: 'POST' });
    expect(opened.status).toBe(200);
    const { c } = (await opened.json()) as { c: string };
    clock.advance(199); // no GET held, no request: idle for pollTimeoutMs + idleGraceMs ends it
    expect(closes).toEqual([]);
    clock.advance(1);
    expect(closes).toEqual([1006]);
    expect((await fetch(`${base}/rt/poll?c=${c}`)).status).toBe(404);
  });
});

describe('long-polling endpoint timers', () => {
  it('keeps the idle timeout within what a timer holds when pollTimeoutMs is near the limit', async () => {
    // pollTimeoutMs + idleGraceMs past 2^31-1 ms would make Node run the idle timer after 1 ms
    // and forget every connection at once.
    const delays: number[] = [];
    const clock: Clock = { ...systemClock, setTimeout: (fn, ms) => (delays.push(ms), systemClock.setTimeout(fn, ms)) };
    const { base, closes } = await endpointAlone(createServer(), { path: '/rt', pollTimeoutMs: MAX_DELAY_MS, clock });
    const opened = await fetch(`${base}/rt/poll`, { method: 'POST' });
    const { c } = (await opened.json()) as { c: string };
    expect(delays.length).toBeGreaterThan(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_DELAY_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closes).toEqual([]);
    const gone = await fetch(`${base}/rt/poll?c=${c}`, { method: 'DELETE' });
    expect(gone.status).toBe(204);
    expect(closes).toEqual([1006]);
  });
});
