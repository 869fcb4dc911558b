/**
 * Security, from a hostile page's point of view: `allowedOrigins` must hold on every request that
 * can reach a session, not only on the one that opened it. A browser sends no `Origin` with a
 * `<script>` or `<iframe>` GET, so SockJS's JSONP and htmlfile receivers open sessions with no
 * origin to check; the frames that could drive such a session (xhr_send, jsonp_send) are POSTs,
 * and browsers put the page's origin (or "null") on every cross-origin POST. Long polling checks
 * every request, whatever connection id it names.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/codec.js';
import { useHarness } from '../helpers/harness.js';

const { server } = useHarness();
const pending = new Set<() => void>();
afterEach(() => {
  for (const abort of pending) abort();
  pending.clear();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP exchange on 127.0.0.1, headers exactly as given (no fetch rules on Origin or Cookie). */
function exchange(method: string, url: string, headers: Record<string, string> = {}, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        pending.delete(abort);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
    });
    const abort = (): void => void req.destroy();
    pending.add(abort);
    req.on('error', (error) => (pending.delete(abort), reject(error)));
    req.end(body);
  });
}

const GOOD = 'https://good.example';
const EVIL = 'https://evil.example';

/** A server that trusts a cookie (what `authenticate(token, req)` allows) and only GOOD's pages. */
async function cookieServer() {
  const s = await server({
    allowedOrigins: [GOOD],
    handshakeTimeoutMs: 500,
    authenticate: (_token, req) => (req.headers.cookie === 'sid=victim' ? { user: 'victim' } : false),
  });
  return { s, base: `http://127.0.0.1:${s.port}/realtime/sockjs` };
}

/** The SockJS frame `a[...]` holding our protocol frames, as the texts they carry. */
function messages(jsonpBody: string): string[] {
  const match = /^\/\*\*\/cb\("a(.*)"\);\r\n$/s.exec(jsonpBody);
  return match ? (JSON.parse(JSON.parse(`"${match[1] as string}"`) as string) as string[]) : [];
}

describe('SockJS: a hostile page cannot drive a session opened without an Origin', () => {
  const form = (d: string): string => `d=${encodeURIComponent(d)}`;
  it.each([
    ['jsonp_send', EVIL, 'application/x-www-form-urlencoded', form],
    // What a form POST carries from a page with `Referrer-Policy: no-referrer` or a sandboxed frame.
    ['jsonp_send', 'null', 'application/x-www-form-urlencoded', form],
    ['xhr_send', EVIL, 'text/plain', (d: string) => d],
  ])('%s from origin %s is refused (403); the session never gets its hello', async (route, origin, type, encode) => {
    const { s, base } = await cookieServer();
    const session = `${base}/000/${Math.random().toString(36).slice(2, 10)}`;
    const cookie = { Cookie: 'sid=victim' }; // the victim's browser attaches it; no Origin on a <script> GET
    const opened = await exchange('GET', `${session}/jsonp?c=cb`, cookie);
    expect(opened.body).toBe('/**/cb("o");\r\n');
    const hello = JSON.stringify([encodeFrame({ type: 'hello', v: 1, ack: 0 })]);
    const sent = await exchange(
      'POST',
      `${session}/${route}`,
      { ...cookie, Origin: origin, 'Content-Type': type },
      encode(hello),
    );
    expect(sent.status).toBe(403);
    // The next poll carries no welcome: the handshake times out (4008) and no session was made.
    const next = await exchange('GET', `${session}/jsonp?c=cb`, cookie);
    expect(next.body).not.toContain('\\"w\\"');
    expect(s.rt.sessions.size).toBe(0);
  });

  it('a page of an allowed origin still uses the JSONP transport', async () => {
    const { s, base } = await cookieServer();
    const session = `${base}/000/${Math.random().toString(36).slice(2, 10)}`;
    const cookie = { Cookie: 'sid=victim' };
    await exchange('GET', `${session}/jsonp?c=cb`, cookie);
    const hello = JSON.stringify([encodeFrame({ type: 'hello', v: 1, ack: 0 })]);
    const form = { ...cookie, Origin: GOOD, 'Content-Type': 'application/x-www-form-urlencoded' };
    expect((await exchange('POST', `${session}/jsonp_send`, form, `d=${encodeURIComponent(hello)}`)).status).toBe(200);
    const [welcome] = messages((await exchange('GET', `${session}/jsonp?c=cb`, cookie)).body);
    expect(welcome).toMatch(/^\["w",/);
    expect(s.rt.sessions.size).toBe(1);
  });
});

describe('long polling: the origin is checked on every request of a connection id', () => {
  it('GET, POST and DELETE with a known id from another origin get 403 and leave the connection alone', async () => {
    const s = await server({ allowedOrigins: [GOOD] });
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const good = { Origin: GOOD, 'Content-Type': 'text/plain;charset=UTF-8' };
    const opened = await exchange('POST', poll, good);
    // Only the allowed origin, no credentials: the client sends none (`credentials: 'omit'`).
    expect(opened.headers['access-control-allow-origin']).toBe(GOOD);
    expect(opened.headers['access-control-allow-credentials']).toBeUndefined();
    const { c } = JSON.parse(opened.body) as { c: string };
    const evil = { ...good, Origin: EVIL };
    const hello = `[${encodeFrame({ type: 'hello', v: 1, ack: 0 })}]`;
    for (const [method, body] of [
      ['POST', hello],
      ['GET', ''],
      ['DELETE', ''],
      ['OPTIONS', ''],
    ] as const) {
      const answer = await exchange(method, `${poll}?c=${c}`, evil, body);
      // Readable by the refused page (test/browser/origin-refused.test.ts), which then stops with 4403.
      expect([method, answer.status, answer.headers['access-control-allow-origin']]).toEqual([method, 403, EVIL]);
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
    expect(s.rt.sessions.size).toBe(0); // the hostile POST's hello never arrived
    // The id still works for its own page: nothing above touched it.
    expect((await exchange('POST', `${poll}?c=${c}`, good, hello)).status).toBe(204);
    const welcome = await exchange('GET', `${poll}?c=${c}`, good);
    expect(welcome.body).toMatch(/^\[\["w",/);
    await exchange('DELETE', `${poll}?c=${c}`, good); // or shutdown waits for a GET to collect its close
  });
});
