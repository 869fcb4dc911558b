/**
 * Security: unguessable session ids, resume tokens and long-polling ids; a resume needs the token
 * and the same identity; the auth token never reaches a URL or a log line on any transport (with
 * drops and a refused token in the run); the origin allow-list on all three endpoints.
 */
import { inspect } from 'node:util';
import SockJSClient from 'sockjs-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AuthError } from '../../src/errors/index.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import { randomId, randomResumeToken } from '../../src/server/session-registry.js';
import type { TransportName, SockJSConstructor } from '../../src/transports/transport.js';
import { until, useHarness } from '../helpers/harness.js';
import { Fixture } from '../helpers/raw-client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const SockJS: SockJSConstructor = SockJSClient;
const { server, client, defer } = useHarness<{ n: number }, { n: number }>({ SockJS });
const fx = new Fixture();
afterEach(() => fx.cleanup()); // runs before the harness's own teardown (hooks run as a stack)

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Chi-square of symbol counts against a uniform distribution over the 64 base64url symbols. */
function chiSquare(strings: readonly string[]): number {
  const counts = new Map<string, number>();
  let total = 0;
  for (const s of strings) {
    for (const ch of s) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
      total++;
    }
  }
  const expected = total / 64;
  let chi = 0;
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
    const d = (counts.get(ch) ?? 0) - expected;
    chi += (d * d) / expected;
  }
  return chi;
}

describe('identifiers come from a CSPRNG', () => {
  it('resume tokens: 192 bits, 10,000 unique, uniform symbols', () => {
    const tokens = Array.from({ length: 10_000 }, () => randomResumeToken());
    expect(new Set(tokens).size).toBe(10_000);
    for (const t of tokens) expect(t).toMatch(BASE64URL);
    expect(tokens.every((t) => t.length === 32)).toBe(true); // 32 × 6 = 192 bits
    // 63 degrees of freedom: 150 is far beyond p = 1e-6; a counter or a weak PRNG lands way off.
    expect(chiSquare(tokens)).toBeLessThan(150);
  });

  it('session ids: 128 bits, 10,000 unique', () => {
    const ids = Array.from({ length: 10_000 }, () => randomId());
    expect(new Set(ids).size).toBe(10_000);
    expect(ids.every((id) => id.length === 22 && BASE64URL.test(id))).toBe(true); // 16 bytes
    expect(chiSquare(ids.map((id) => id.slice(0, 21)))).toBeLessThan(150); // the 22nd holds 2 bits
  });

  it('welcomes carry distinct ids and tokens; long-polling ids are as long', async () => {
    const s = await server();
    const sids = new Set<string>();
    const tokens = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { client: raw, welcome } = await fx.connected(s.url);
      sids.add(welcome.sid);
      tokens.add(welcome.resume);
      expect(welcome.resume).not.toContain(welcome.sid);
      expect(welcome.resume.length * 6).toBeGreaterThanOrEqual(128);
      expect(welcome.sid.length * 6).toBeGreaterThanOrEqual(128);
      raw.terminate();
    }
    expect(sids.size).toBe(50);
    expect(tokens.size).toBe(50);
    const poll = `${s.url.replace(/^ws/, 'http')}/poll`;
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { c } = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
      expect(c).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      ids.add(c);
      await fetch(`${poll}?c=${c}`, { method: 'DELETE' });
    }
    expect(ids.size).toBe(50);
  });
});

describe('a resume needs the token and the same identity', () => {
  async function owned() {
    const s = await server({
      authenticate: (token) => (token?.startsWith('user:') ? { user: token.slice(5) } : false),
    });
    const { client: raw, welcome } = await fx.connected(s.url, { auth: 'user:ann' });
    raw.terminate();
    await until(() => [...s.rt.sessions.values()].some((x) => !x.connected));
    return { s, welcome };
  }

  it('keeps the token out of a logged or serialised session object', async () => {
    const { s, welcome } = await owned();
    const session = s.rt.sessions.get(welcome.sid);
    expect(session?.id).toBe(welcome.sid);
    expect(inspect(session, { depth: 4 })).not.toContain(welcome.resume);
    expect(JSON.stringify(session)).not.toContain(welcome.resume);
  });

  it('does not resume with the session id, a guessed token, or no token', async () => {
    const { s, welcome } = await owned();
    const altered = welcome.resume.slice(0, -1) + (welcome.resume.endsWith('A') ? 'B' : 'A');
    for (const resume of [welcome.sid, altered, welcome.resume.slice(0, 16), undefined]) {
      const { welcome: w } = await fx.connected(s.url, {
        auth: 'user:ann',
        ...(resume === undefined ? {} : { resume }),
      });
      expect(w.resumed).toBe(false);
      expect(w.sid).not.toBe(welcome.sid);
    }
    // The owner still resumes with the real token.
    const { welcome: back } = await fx.connected(s.url, { auth: 'user:ann', resume: welcome.resume });
    expect(back).toMatchObject({ resumed: true, sid: welcome.sid });
  });

  it('refuses the right token without credentials (4401), and gives another identity a new session', async () => {
    const { s, welcome } = await owned();
    const anonymous = await fx.client(s.url);
    anonymous.send({ type: 'hello', v: 1, ack: 0, resume: welcome.resume });
    expect((await anonymous.waitClosed()).code).toBe(CloseCode.Unauthorized);
    // As for a guessed token: no close code that would tell bob this one is live.
    const { welcome: other } = await fx.connected(s.url, { auth: 'user:bob', resume: welcome.resume });
    expect(other.resumed).toBe(false);
    expect(other.sid).not.toBe(welcome.sid);
    const { welcome: back } = await fx.connected(s.url, { auth: 'user:ann', resume: welcome.resume });
    expect(back).toMatchObject({ resumed: true, sid: welcome.sid });
  });

  it('forgets the token of a session that ended', async () => {
    const s = await server();
    const { client: raw, welcome } = await fx.connected(s.url);
    raw.send({ type: 'close', code: 1000, reason: 'bye' });
    await raw.waitClosed();
    const { welcome: w } = await fx.connected(s.url, { resume: welcome.resume });
    expect(w.resumed).toBe(false);
  });
});

describe('the auth token stays out of URLs and logs', () => {
  it.each<TransportName>(['websocket', 'sockjs', 'longpoll'])(
    'on %s: a full session with drops and a refused token',
    async (transport) => {
      const token = `tok-${randomResumeToken()}`;
      const wrong = `bad-${randomResumeToken()}`;
      const logs: string[] = [];
      const urls: string[] = [];
      const s = await server({
        authenticate: (t) => (t === token ? { user: 'ann' } : false),
        logger: recordingLogger(logs),
      });
      s.http.on('request', (req) => urls.push(`${req.method} ${req.url}`));
      s.http.on('upgrade', (req) => urls.push(`UPGRADE ${req.url}`));
      s.rt.on('connection', (session) => session.on('n', (v) => session.send('n', v + 1)));
      s.rt.handle('echo', (d) => d);
      const proxy = await TcpProxy.start(s.port);
      defer(() => proxy.close());
      const url = `ws://127.0.0.1:${proxy.port}/realtime`;

      const c = client(url, {
        transports: [transport],
        auth: async () => token,
        logger: recordingLogger(logs),
        upgrade: false,
      });
      await c.waitFor('open', { timeoutMs: 8000 });
      for (let drop = 0; drop < 2; drop++) {
        const reply = c.waitFor('n', { timeoutMs: 8000 });
        c.send('n', drop);
        await expect(reply).resolves.toBe(drop + 1);
        await expect(c.request('echo', 'x')).resolves.toBe('x');
        proxy.cut();
        await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toMatchObject({ resumed: true });
      }
      const refused = client(url, { transports: [transport], auth: wrong, logger: recordingLogger(logs) });
      const error = await refused.waitFor('error', { timeoutMs: 8000 });
      expect(error).toBeInstanceOf(AuthError);
      c.close();
      refused.close();
      await until(() => s.rt.sessions.size === 0);

      expect(urls.length).toBeGreaterThan(2);
      expect(logs.some((line) => line.includes('unauthorized'))).toBe(true); // the refusal was logged
      for (const line of [...urls, ...logs]) {
        expect(line).not.toContain(token);
        expect(line).not.toContain(wrong);
      }
    },
  );
});

describe('origin allow-list on every endpoint', () => {
  it('refuses other origins on WebSocket (403), SockJS (4403) and long polling (403)', async () => {
    const s = await server({ allowedOrigins: ['https://good.example'] });
    const base = `127.0.0.1:${s.port}/realtime`;
    const upgrade = (origin: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://${base}`, { origin });
        ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
        ws.on('open', () => (resolve(101), ws.terminate()));
        ws.on('error', () => {});
      });
    const sockjs = (origin: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://${base}/sockjs/websocket`, { origin });
        ws.on('open', () => ws.send(encodeFrame({ type: 'hello', v: 1, ack: 0 })));
        ws.on('message', (data: Buffer) => {
          const f = decodeFrame(data.toString());
          if (!(f instanceof Error) && (f.type === 'welcome' || f.type === 'close'))
            resolve(f.type === 'close' ? f.code : 101);
          ws.terminate();
        });
        ws.on('error', () => {});
      });
    const poll = async (origin: string) =>
      (await fetch(`http://${base}/poll`, { method: 'POST', headers: { Origin: origin } })).status;
    const evil = 'https://evil.example';
    const good = 'https://good.example';
    expect([await upgrade(evil), await sockjs(evil), await poll(evil)]).toEqual([403, CloseCode.Forbidden, 403]);
    expect([await upgrade(good), await sockjs(good), await poll(good)]).toEqual([101, 101, 200]);
  });
});
