// Credentials in the URL in real Chromium (`http://user:pass@host/realtime`): long polling, whose
// fetch refuses such a URL, sends them itself as `Authorization: Basic` on every request (user and
// password percent-decoded to bytes); Chromium's WebSocket does not send them with its handshake.
// The server's `authenticate` reads that header from the request that opened the connection.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { skipBrowserTests, useChromium, WAIT } from '../helpers/browser.js';

const BUNDLE = new URL('../../dist/surelink.full.min.js', import.meta.url);

type Transport = 'websocket' | 'longpoll';
type CredentialsWindow = Window & { Surelink: { RealtimeClient: typeof RealtimeClient } };

/** An app server whose realtime endpoint takes who the Basic credentials of the opening request name. */
async function startApp(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await readFile(BUNDLE);
  const http: Server = createServer((req, res) => {
    if (req.url === '/surelink.full.min.js')
      return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    if (req.url === '/')
      return void res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end('<!doctype html><script src="/surelink.full.min.js"></script>');
    if (!req.url?.startsWith('/realtime')) res.writeHead(404).end();
  });
  const realtime = createRealtimeServer({
    server: http,
    path: '/realtime',
    authenticate: (_token, req) => {
      const [scheme, value] = (req.headers.authorization ?? '').split(' ');
      return scheme === 'Basic' && value ? Buffer.from(value, 'base64').toString('utf8') : false;
    },
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

/** A client on `transport` alone, at the page's origin with `userinfo`: who the server took it for, or its error's name. */
function whoami(page: Page, transport: Transport, userinfo: string): Promise<string> {
  return page.evaluate(
    async ([only, user]) => {
      const { RealtimeClient } = (window as unknown as CredentialsWindow).Surelink;
      const url = new URL('/realtime', location.href).href.replace('//', `//${user}@`);
      const client = new RealtimeClient(url, { transports: [only], rememberTransport: false, reconnect: false });
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
    },
    [transport, userinfo] as const,
  );
}

describe.skipIf(skipBrowserTests)('credentials in the URL, in Chromium', () => {
  const chromium = useChromium();

  it('reach authenticate(token, req) as Basic auth on long polling, percent-decoded; not with the WebSocket handshake', async () => {
    const app = await startApp();
    try {
      const page = await chromium().context.newPage();
      await page.goto(`${app.url}/`);
      await page.waitForFunction(() => 'Surelink' in window, null, WAIT);
      const seen: Record<string, string> = {};
      for (const transport of ['websocket', 'longpoll'] as const)
        seen[transport] = await whoami(page, transport, 'al%C3%AFce:p%40ss');
      // Long polling sends them on every request; Chromium's WebSocket does not send them with its
      // handshake (an app that needs them there must answer with an HTTP 401 challenge, or use `auth`).
      expect(seen).toEqual({ websocket: 'AuthError', longpoll: 'alïce:p@ss' });
      await page.close();
    } finally {
      await app.close();
    }
  });
});
