/**
 * An app that authenticates its realtime clients, for browser tests of what reaches
 * `authenticate(token, req)`: `/` loads the script-tag bundle, `/realtime` is the endpoint, and
 * `whoami` answers with the identity `authenticate` gave the session.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import type { RealtimeClient } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';

const BUNDLE = new URL('../../dist/surelink.full.min.js', import.meta.url);

export type AuthTransport = 'websocket' | 'sockjs' | 'longpoll';
type AppWindow = Window & { Surelink: { RealtimeClient: typeof RealtimeClient } };

export interface AuthAppOptions {
  /** Who the request that opened a connection is, or `false` to refuse it. */
  authenticate(req: IncomingMessage): string | false;
  /** Headers of the page's own response (a `Set-Cookie`, say). */
  pageHeaders?: Record<string, string>;
}

export async function startAuthApp(options: AuthAppOptions): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await readFile(BUNDLE);
  const http: Server = createServer((req, res) => {
    if (req.url === '/surelink.full.min.js')
      return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    if (req.url === '/')
      return void res
        .writeHead(200, { 'Content-Type': 'text/html', ...options.pageHeaders })
        .end('<!doctype html><script src="/surelink.full.min.js"></script>');
    // The realtime server puts its routes in front of this listener; anything else is not found.
    if (!req.url?.startsWith('/realtime')) res.writeHead(404).end();
  });
  const realtime = createRealtimeServer({
    server: http,
    path: '/realtime',
    authenticate: (_token, req) => options.authenticate(req),
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

/**
 * A client on `transport` alone, at the page's `/realtime` (with `userinfo@` in its URL when
 * given): who the server says it is, or the name of the error it stopped with.
 */
export function whoami(page: Page, transport: AuthTransport, userinfo = ''): Promise<string> {
  return page.evaluate(
    async ([only, user]) => {
      const { RealtimeClient } = (window as unknown as AppWindow).Surelink;
      const href = new URL('/realtime', location.href).href;
      const client = new RealtimeClient(user ? href.replace('//', `//${user}@`) : href, {
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
    },
    [transport, userinfo] as const,
  );
}
