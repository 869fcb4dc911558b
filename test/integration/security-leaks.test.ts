/**
 * Security, from a client's point of view, on each transport with raw frames (no surelink client):
 * what `authenticate` or an internal failure throws never reaches the client; nothing a client
 * sees tells a live resume token of another identity from a guessed one, and trying one leaves
 * its session alone; and, with the real client, neither the auth token nor a resume token ever
 * appears in a URL, a request header or a log line (client and server, every level).
 */
import { request } from 'node:http';
import SockJSClient from 'sockjs-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../../src/protocol/codec.js';
import type { HelloFrame } from '../../src/protocol/frames.js';
import { randomResumeToken } from '../../src/server/session-registry.js';
import type { SockJSConstructor, TransportName } from '../../src/transports/transport.js';
import { until, useHarness } from '../helpers/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const SockJS: SockJSConstructor = SockJSClient;
const { server, client, defer } = useHarness<{ n: number }, { n: number }>({ SockJS });
/** What ends the connections a test left open (a long-polling DELETE is awaited). */
const open = new Set<() => unknown>();
afterEach(async () => {
  const ends = [...open];
  open.clear();
  await Promise.all(ends.map((end) => end()));
});

const TRANSPORTS: readonly TransportName[] = ['websocket', 'sockjs', 'longpoll'];
/** What a careless `authenticate` or a failing dependency puts in its error. */
const SECRET = 'db 10.1.2.3 password=hunter2 at /srv/app/auth.js';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One HTTP exchange on 127.0.0.1. */
function exchange(method: string, url: string, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': Buffer.byteLength(body) };
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (open.delete(abort), resolve({ status: res.statusCode ?? 0, body: text })));
    });
    const abort = (): void => void req.destroy();
    open.add(abort);
    req.on('error', (error) => (open.delete(abort), reject(error)));
    req.end(body);
  });
}

/** What a client saw of one handshake: the first protocol frame, and everything on the wire. */
interface Seen {
  readonly first: unknown[];
  /** Messages, bodies, HTTP statuses and the transport's close, as text. */
  readonly wire: string[];
}

/** Sends `hello` on `transport` (SockJS: its xhr transport) and reads up to the first frame back. */
async function attempt(transport: TransportName, port: number, hello: Omit<HelloFrame, 'type'>): Promise<Seen> {
  const text = encodeFrame({ type: 'hello', ...hello });
  if (transport === 'websocket') return viaWebSocket(`ws://127.0.0.1:${port}/realtime`, text);
  const wire: string[] = [];
  const record = (answer: Answer): Answer => (wire.push(`${answer.status} ${answer.body}`), answer);
  if (transport === 'longpoll') {
    const poll = `http://127.0.0.1:${port}/realtime/poll`;
    const { c } = JSON.parse(record(await exchange('POST', poll)).body) as { c: string };
    wire[0] = wire[0]?.replace(c, '<c>') ?? ''; // a new id each time, like any connection's
    record(await exchange('POST', `${poll}?c=${c}`, `[${text}]`));
    const [first] = JSON.parse(record(await exchange('GET', `${poll}?c=${c}`)).body) as unknown[][];
    open.add(() => exchange('DELETE', `${poll}?c=${c}`).catch(() => {}));
    return { first: first ?? [], wire };
  }
  const session = `http://127.0.0.1:${port}/realtime/sockjs/000/${randomResumeToken().slice(0, 8)}`;
  record(await exchange('POST', `${session}/xhr`));
  record(await exchange('POST', `${session}/xhr_send`, JSON.stringify([text])));
  for (;;) {
    const { body } = record(await exchange('POST', `${session}/xhr`));
    if (!body.startsWith('a')) continue; // a heartbeat
    const first = JSON.parse((JSON.parse(body.slice(1)) as string[])[0] as string) as unknown[];
    if (first[0] === 'c') record(await exchange('POST', `${session}/xhr`)); // SockJS's own close frame
    return { first, wire };
  }
}

function viaWebSocket(url: string, hello: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const wire: string[] = [];
    let first: unknown[] = [];
    open.add(() => ws.terminate());
    ws.on('error', reject);
    ws.on('open', () => ws.send(hello));
    ws.on('message', (data: Buffer) => {
      wire.push(data.toString());
      if (wire.length > 1) return;
      first = JSON.parse(data.toString()) as unknown[];
      if (first[0] !== 'c') resolve({ first, wire });
    });
    ws.on('close', (code, reason) => (wire.push(`close ${code} ${reason.toString()}`), resolve({ first, wire })));
  });
}

/**
 * Refuses anyone without `user:…`; `throw` makes it throw, `getter` returns an identity no one can
 * compare: reading its property throws. (A Proxy whose getPrototypeOf throws did that on Node 20,
 * but Node 22's isDeepStrictEqual no longer asks a Proxy for its prototype.)
 */
function authenticate(token: string | undefined): unknown {
  if (token === 'throw') throw new Error(SECRET);
  if (token === 'getter')
    return {
      get user(): string {
        throw new Error(SECRET);
      },
    };
  return token?.startsWith('user:') ? { user: token.slice(5) } : false;
}

describe('what a client is told when something fails on the server', () => {
  it.each(TRANSPORTS)('on %s: authenticate throwing gets 4401 "unauthorized", nothing of its message', async (t) => {
    const s = await server({ authenticate });
    const seen = await attempt(t, s.port, { v: 1, ack: 0, auth: 'throw' });
    expect(seen.first).toEqual(['c', 4401, 'unauthorized']);
    expect(seen.wire.join('\n')).not.toMatch(/hunter2|10\.1\.2\.3|\/srv|at /);
  });

  it.each(TRANSPORTS)('on %s: an internal failure in the handshake gets 1011 "internal error"', async (t) => {
    const s = await server({ authenticate });
    const errors: Error[] = [];
    s.rt.on('error', (error) => errors.push(error));
    const { first } = await attempt('websocket', s.port, { v: 1, ack: 0, auth: 'getter' });
    const token = (first[1] as { resume: string }).resume;
    // Comparing the identities for the resume throws inside the server.
    const seen = await attempt(t, s.port, { v: 1, ack: 0, auth: 'getter', resume: token });
    expect(seen.first).toEqual(['c', 1011, 'internal error']);
    expect(seen.wire.join('\n')).not.toMatch(/hunter2|10\.1\.2\.3|\/srv|at /);
    expect(errors.map((e) => e.message)).toEqual([SECRET]); // the application hears it
  });

  it('a throwing allowedOrigins predicate is refused without its message on every endpoint', async () => {
    const s = await server({
      allowedOrigins: () => {
        throw new Error(SECRET);
      },
    });
    const base = `127.0.0.1:${s.port}/realtime`;
    const upgrade = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://${base}`);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => (resolve(`${res.statusCode} ${body}`), ws.terminate()));
      });
      ws.on('error', () => {});
    });
    const poll = await exchange('POST', `http://${base}/poll`);
    const sockjs = await attempt('sockjs', s.port, { v: 1, ack: 0 });
    expect(upgrade).toBe('403 Forbidden');
    expect(poll).toEqual({ status: 403, body: 'origin not allowed' });
    expect(sockjs.first).toEqual(['c', 4403, 'origin not allowed']);
    expect([upgrade, poll.body, ...sockjs.wire].join('\n')).not.toMatch(/hunter2|10\.1\.2\.3|\/srv/);
  });
});

describe("nothing tells another identity's live resume token from a guessed one", () => {
  /** The frame with what differs between any two sessions (their id and token) blanked. */
  function shape(seen: Seen): { first: unknown[]; statuses: string[] } {
    const [type, payload, ...rest] = seen.first;
    const blank = type === 'w' ? { ...(payload as object), sid: '<sid>', resume: '<token>' } : payload;
    // What is left of the wire once the frames' own ids are out: statuses, SockJS frames, closes.
    const statuses = seen.wire.map((line) => line.replace(/"(sid|resume)\\*":\\*"[\w-]+/g, '$1'));
    return { first: [type, blank, ...rest], statuses };
  }

  it.each(TRANSPORTS)('on %s: same answers, and the owner keeps its connection', async (t) => {
    const s = await server({ authenticate: (token) => authenticate(token) });
    const drops: string[] = [];
    s.rt.on('connection', (session) => session.on('disconnect', () => drops.push(session.id)));
    const owner = await attempt('websocket', s.port, { v: 1, ack: 0, auth: 'user:ann' });
    const { sid, resume } = owner.first[1] as { sid: string; resume: string };
    const guessed = randomResumeToken();

    const live = await attempt(t, s.port, { v: 1, ack: 0, auth: 'user:bob', resume });
    const guess = await attempt(t, s.port, { v: 1, ack: 0, auth: 'user:bob', resume: guessed });
    expect(live.first[0]).toBe('w');
    expect((live.first[1] as { sid: string }).sid).not.toBe(sid);
    expect(shape(live)).toEqual(shape(guess));
    // Without credentials: the same refusal whatever the token.
    const anonLive = await attempt(t, s.port, { v: 1, ack: 0, resume });
    const anonGuess = await attempt(t, s.port, { v: 1, ack: 0, resume: guessed });
    expect(anonLive.first).toEqual(['c', 4401, 'unauthorized']);
    expect(shape(anonLive)).toEqual(shape(anonGuess));
    // Nothing happened to ann's session: still connected, never dropped.
    expect(s.rt.sessions.get(sid)?.connected).toBe(true);
    expect(drops).not.toContain(sid);
  });
});

describe('tokens stay out of URLs, request headers and logs', () => {
  it.each(TRANSPORTS)('on %s: auth and resume tokens, with drops, resumes and an upgrade', async (transport) => {
    const token = `tok-${randomResumeToken()}`;
    const logs: string[] = [];
    const requests: string[] = [];
    const resumeTokens: string[] = [];
    const s = await server({
      authenticate: (t) => (t === token ? { user: 'ann' } : false),
      logger: recordingLogger(logs),
    });
    s.http.on('request', (req) => requests.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`));
    s.http.on('upgrade', (req) => requests.push(`UPGRADE ${req.url} ${JSON.stringify(req.headers)}`));
    s.rt.on('connection', (session) => {
      resumeTokens.push((session as unknown as { resumeToken: string }).resumeToken);
      session.on('n', (v) => session.send('n', v + 1));
    });
    const proxy = await TcpProxy.start(s.port);
    defer(() => proxy.close());
    // Long polling: WebSocket refused at first, and after the drops the probe upgrades to it.
    const upgrading = transport === 'longpoll';
    if (upgrading) proxy.mode = 'refuse-upgrade';
    const c = client(`ws://127.0.0.1:${proxy.port}/realtime`, {
      transports: upgrading ? ['websocket', 'longpoll'] : [transport],
      auth: token,
      logger: recordingLogger(logs),
      upgrade: upgrading ? { initialDelayMs: 50, maxDelayMs: 100 } : false,
    });
    await c.waitFor('open', { timeoutMs: 8000 });
    for (let drop = 0; drop < 2; drop++) {
      const reply = c.waitFor('n', { timeoutMs: 8000 });
      c.send('n', drop);
      await expect(reply).resolves.toBe(drop + 1);
      expect([...s.rt.sessions.values()].map((x) => x.transport)).toEqual([transport]);
      proxy.cut();
      await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toMatchObject({ resumed: true });
    }
    if (upgrading) {
      proxy.mode = 'forward';
      // close() may come while the probe's hello is out: it says goodbye there too, so the
      // session still ends at once (before, it was left for the grace period about 1 run in 7).
      await until(() => [...s.rt.sessions.values()].some((x) => x.transport === 'websocket'));
    }
    c.close();
    await until(() => s.rt.sessions.size === 0);

    expect(resumeTokens).toHaveLength(1);
    expect(requests.length).toBeGreaterThan(1);
    for (const line of [...requests, ...logs]) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(resumeTokens[0]);
    }
  });
});
