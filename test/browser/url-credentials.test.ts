// Credentials in the URL in real Chromium (`http://user:pass@host/realtime`): long polling, whose
// fetch refuses such a URL, sends them itself as `Authorization: Basic` on every request (user and
// password percent-decoded to bytes); Chromium's WebSocket does not send them with its handshake.
// The server's `authenticate` reads that header from the request that opened the connection.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startAuthApp, whoami } from '../helpers/auth-app.js';
import { skipBrowserTests, useChromium, WAIT } from '../helpers/browser.js';

/** Who the Basic credentials of the request that opened the connection name. */
function basicUser(req: IncomingMessage): string | false {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ');
  return scheme === 'Basic' && value ? Buffer.from(value, 'base64').toString('utf8') : false;
}

describe.skipIf(skipBrowserTests)('credentials in the URL, in Chromium', () => {
  const chromium = useChromium();

  it('reach authenticate(token, req) as Basic auth on long polling, percent-decoded; not with the WebSocket handshake', async () => {
    const app = await startAuthApp({ authenticate: basicUser });
    try {
      const page = await chromium().context.newPage();
      await page.goto(`${app.url}/`);
      await page.waitForFunction(() => 'Surelink' in window, null, WAIT);
      const seen: Record<string, string> = {};
      for (const transport of ['websocket', 'longpoll'] as const)
        seen[transport] = await whoami(page, transport, 'al%C3%AFce:p%40ss');
      // Long polling sends them on every request; Chromium's WebSocket does not send them with its
      // handshake (README: use `auth`).
      expect(seen).toEqual({ websocket: 'AuthError', longpoll: 'alïce:p@ss' });
      await page.close();
    } finally {
      await app.close();
    }
  });
});
