// A page whose origin the server does not allow, in real Chromium: the client must stop (4403,
// fatal, as PROTOCOL.md's close-code table says), not retry for ever. A browser reads no HTTP status
// of a refused WebSocket upgrade (it reports 1006) nor of a cross-origin answer without
// `Access-Control-Allow-Origin` (fetch fails as if the network did): SockJS therefore refuses inside
// its session with 4403, and long polling's 403 carries the header so that the page can read it.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { skipBrowserTests, useChromium, WAIT } from '../helpers/browser.js';

type AppWindow = Window & { Surelink: { RealtimeClient: typeof RealtimeClient } };
type Bundle = 'surelink.min.js' | 'surelink.full.min.js';

const listen = (http: Server): Promise<string> =>
  new Promise((resolve) =>
    http.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(http.address() as AddressInfo).port}`)),
  );

const stop = (http: Server): Promise<void> =>
  new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });

/** The page's origin (one port) and a realtime server on another port that allows only another origin. */
async function start(): Promise<{ page: string; realtime: string; close(): Promise<void> }> {
  const bundles = new Map<string, Buffer>();
  for (const name of ['surelink.min.js', 'surelink.full.min.js'])
    bundles.set(`/${name}`, await readFile(new URL(`../../dist/${name}`, import.meta.url)));
  const pages = createServer((req, res) => {
    const bundle = bundles.get(req.url?.split('?')[0] ?? '');
    if (bundle) return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    const script = new URL(req.url ?? '/', 'http://page').searchParams.get('bundle') ?? 'surelink.min.js';
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><script src="/${script}"></script>`);
  });
  const api = createServer((_req, res) => void res.writeHead(404).end());
  const rt = createRealtimeServer({ server: api, path: '/realtime', allowedOrigins: ['https://app.example.com'] });
  const [page, realtime] = await Promise.all([listen(pages), listen(api)]);
  return {
    page: `http://${page}`,
    realtime: `ws://${realtime}/realtime`,
    async close() {
      await rt.close();
      await Promise.all([stop(pages), stop(api)]);
    },
  };
}

describe.skipIf(skipBrowserTests)('an origin the server does not allow, in Chromium', () => {
  const chromium = useChromium();

  /**
   * A client on `transports` (all three when undefined) from a page on `bundle`: how it stopped, or
   * the close codes it saw when it had not stopped within 10 s (retries 100 ms apart).
   */
  async function outcome(bundle: Bundle, transports?: string[]): Promise<unknown> {
    const app = await start();
    const page = await chromium().context.newPage();
    try {
      await page.goto(`${app.page}/?bundle=${bundle}`);
      await page.waitForFunction(() => 'Surelink' in window, null, WAIT);
      return await page.evaluate(
        async ([url, only]) => {
          const { RealtimeClient } = (window as unknown as AppWindow).Surelink;
          const client = new RealtimeClient(url, {
            ...(only ? { transports: only as ('websocket' | 'sockjs' | 'longpoll')[] } : {}),
            rememberTransport: false,
            reconnect: { initialDelayMs: 100, maxDelayMs: 100 },
          });
          const codes: number[] = [];
          client.on('close', ({ code }) => codes.push(code));
          let last: { name: string; closeCode?: number } | undefined;
          client.on('error', (e) => (last = e as { name: string; closeCode?: number }));
          let timer: ReturnType<typeof setTimeout> | undefined;
          const stopped = await new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), 10_000);
            client.on('state', ({ to }) => to === 'closed' && resolve(true));
          });
          clearTimeout(timer);
          const seen = stopped
            ? { state: 'closed', error: last?.name, closeCode: last?.closeCode }
            : { state: client.state, codes: codes.slice(0, 5) };
          client.close();
          return seen;
        },
        [app.realtime, transports ?? null] as const,
      );
    } finally {
      await page.close();
      await app.close();
    }
  }

  it('long polling reads the 403 and stops with 4403', async () => {
    expect(await outcome('surelink.min.js', ['longpoll'])).toEqual({
      state: 'closed',
      error: 'AuthError',
      closeCode: 4403,
    });
  });

  it('surelink.min.js without sockjs-client stops with 4403 after WebSocket and SockJS failed', async () => {
    expect(await outcome('surelink.min.js')).toMatchObject({ state: 'closed', closeCode: 4403 });
  });

  it('surelink.full.min.js stops with 4403 on SockJS', async () => {
    expect(await outcome('surelink.full.min.js', ['sockjs'])).toEqual({
      state: 'closed',
      error: 'AuthError',
      closeCode: 4403,
    });
  });
});
