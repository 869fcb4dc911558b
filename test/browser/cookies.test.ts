// Cookie authentication in real Chromium: an app whose `authenticate(token, req)` reads its session
// cookie from the request that opened the connection must see it on every transport, else a
// network that forces a fallback turns a signed-in user away (4401, fatal). Same-origin, the
// WebSocket handshake, SockJS's requests and long polling's opening POST (which goes with
// `credentials: 'same-origin'`) all carry the page's cookies. Without the cookie, every transport
// is refused with AuthError.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { skipBrowserTests, useChromium, WAIT } from '../helpers/browser.js';

const BUNDLE = new URL('../../dist/surelink.full.min.js', import.meta.url);
const SESSION = 'sid=s3cret';

type Transport = 'websocket' | 'sockjs' | 'longpoll';
type CookieWindow = Window & { Surelink: { RealtimeClient: typeof RealtimeClient } };

/**
 * An app server: `/` sets the session cookie (HttpOnly, as session cookies are) and loads the
 * script-tag bundle; the realtime endpoint accepts only requests carrying that cookie.
 */
async function startApp(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await readFile(BUNDLE);
  const http: Server = createServer((req, res) => {
    if (req.url === '/surelink.full.min.js')
      return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Set-Cookie': `${SESSION}; HttpOnly; Path=/; SameSite=Lax` });
      return void res.end('<!doctype html><script src="/surelink.full.min.js"></script>');
    }
    // The realtime server puts its routes in front of this listener; anything else is not found.
    if (!req.url?.startsWith('/realtime')) res.writeHead(404).end();
  });
  const realtime = createRealtimeServer({
    server: http,
    path: '/realtime',
    authenticate: (_token, req) => (req.headers.cookie?.split('; ').includes(SESSION) ? 'signed in' : false),
  });
  realtime.handle('whoami', (_data, session) => session.identity);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      await realtime.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

/** A client on `transport` alone: who the server says it is, or the error it stopped with. */
function whoami(page: Page, transport: Transport): Promise<string> {
  return page.evaluate(async (only) => {
    const { RealtimeClient } = (window as unknown as CookieWindow).Surelink;
    const client = new RealtimeClient(new URL('/realtime', location.href).href, {
      transports: [only],
      rememberTransport: false,
      reconnect: false,
    });
    try {
      const outcome = await Promise.race([
        client.waitFor('open', { timeoutMs: 15_000 }).then(() => client.request('whoami', null)),
        client.waitFor('error', { timeoutMs: 15_000 }).then((error) => Promise.reject(error)),
      ]);
      return String(outcome);
    } catch (error) {
      return (error as Error).name;
    } finally {
      client.close();
    }
  }, transport);
}

const TRANSPORTS: readonly Transport[] = ['websocket', 'sockjs', 'longpoll'];

describe.skipIf(skipBrowserTests)('cookie authentication in Chromium', () => {
  const chromium = useChromium();

  /** Runs `body` on a page of a fresh app server, its session cookie set (or, `signedIn` false, cleared again). */
  async function onAppPage(signedIn: boolean, body: (page: Page) => Promise<void>): Promise<void> {
    const app = await startApp();
    try {
      await chromium().context.clearCookies(); // cookies go by host, not port: none from an earlier test
      const page = await chromium().context.newPage();
      await page.goto(`${app.url}/`);
      await page.waitForFunction(() => 'Surelink' in window, null, WAIT);
      if (!signedIn) await chromium().context.clearCookies();
      await body(page);
      await page.close();
    } finally {
      await app.close();
    }
  }

  const seenOn = async (page: Page): Promise<Record<string, string>> => {
    const seen: Record<string, string> = {};
    for (const transport of TRANSPORTS) seen[transport] = await whoami(page, transport);
    return seen;
  };

  it('authenticate(token, req) sees the page’s session cookie on every transport', async () => {
    await onAppPage(true, async (page) => {
      expect(await seenOn(page)).toEqual({ websocket: 'signed in', sockjs: 'signed in', longpoll: 'signed in' });
    });
  });

  it('without the cookie, every transport is refused with AuthError', async () => {
    await onAppPage(false, async (page) => {
      expect(await seenOn(page)).toEqual({ websocket: 'AuthError', sockjs: 'AuthError', longpoll: 'AuthError' });
    });
  });
});
