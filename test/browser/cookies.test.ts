// Cookie authentication in real Chromium: an app whose `authenticate(token, req)` reads its session
// cookie from the request that opened the connection must see it on every transport, else a
// network that forces a fallback turns a signed-in user away (4401, fatal). Same-origin, the
// WebSocket handshake, SockJS's requests and long polling's opening POST (which goes with
// `credentials: 'same-origin'`) all carry the page's cookies. Without the cookie, every transport
// is refused with AuthError.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startAuthApp, whoami, type AuthTransport } from '../helpers/auth-app.js';
import { skipBrowserTests, useChromium, WAIT } from '../helpers/browser.js';

const SESSION = 'sid=s3cret';

/**
 * An app server: `/` sets the session cookie (HttpOnly, as session cookies are) and loads the
 * script-tag bundle; the realtime endpoint accepts only requests carrying that cookie.
 */
function startApp(): ReturnType<typeof startAuthApp> {
  return startAuthApp({
    authenticate: (req) => (req.headers.cookie?.split('; ').includes(SESSION) ? 'signed in' : false),
    pageHeaders: { 'Set-Cookie': `${SESSION}; HttpOnly; Path=/; SameSite=Lax` },
  });
}

const TRANSPORTS: readonly AuthTransport[] = ['websocket', 'sockjs', 'longpoll'];

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
