// What a reconnect costs behind a corporate HTTP proxy (test/helpers/http-proxy.ts) that refuses
// CONNECT (so no WebSocket) and buffers every response whole (so SockJS's streaming transports never
// see a frame): the client in real Chromium opens, then the server cuts every connection (the lab's
// /lab/cut, a dropped network) a few times, and each reconnect is timed from the moment the retry
// starts (`state` to connecting, after the backoff delay) to `open`, with the requests the proxy
// forwarded in between, by kind. On SockJS (the full bundle) and, for comparison, on long polling
// (the script-tag bundle without SockJS). Figures are printed. Asserted: on SockJS a reconnect goes
// straight to the sockjs-client sub-transport that opened before (xhr-polling here) instead of
// searching again through the streaming ones, which only time out behind this proxy.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS } from '../../scripts/chromium.mjs';
import type { RealtimeClient } from '../../src/index.js';
import { CHROMIUM_PATH, labControl, skipBrowserTests, startExamples, WAIT } from '../helpers/browser.js';
import { HttpProxy } from '../helpers/http-proxy.js';

const CUTS = 3;

interface MeasureWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient };
  client: RealtimeClient;
  /** Each state change, with ms since the page made the client. */
  states: { to: string; at: number }[];
  opens: { transport: string; resumed: boolean; at: number }[];
}

/** The kind of a forwarded request, from its path: SockJS's /info and sub-transport routes, long polling's. */
function kind(path: string): string {
  if (path.startsWith('/realtime/sockjs')) return `sockjs ${path.split('/').pop() ?? ''}`;
  if (path.startsWith('/realtime')) return `longpoll ${path.slice('/realtime'.length) || '/'}`;
  return 'page';
}

function tally(paths: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of paths) out[kind(p)] = (out[kind(p)] ?? 0) + 1;
  return out;
}

interface Connect {
  /** From the retry starting (or the client being made) to `open`. */
  readonly ms: number;
  readonly transport: string;
  readonly requests: Record<string, number>;
}

/** Opens a client with default options on `bundle`, then cuts it CUTS times; each connect's figures. */
async function measure(page: Page, proxy: HttpProxy, serverUrl: string, bundle: string): Promise<Connect[]> {
  await page.goto(`${serverUrl}/index.html`, WAIT);
  await page.addScriptTag({ url: `/dist/${bundle}` });
  const before = proxy.paths.length;
  await page.evaluate(() => {
    const w = window as unknown as MeasureWindow;
    const t0 = performance.now();
    w.states = [];
    w.opens = [];
    w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href);
    w.client.on('state', ({ to }) => void w.states.push({ to, at: performance.now() - t0 }));
    w.client.on(
      'open',
      ({ transport, resumed }) => void w.opens.push({ transport, resumed, at: performance.now() - t0 }),
    );
  });
  const opens = (n: number): Promise<unknown> =>
    page.waitForFunction((count) => (window as unknown as MeasureWindow).opens.length >= count, n, WAIT);
  await opens(1);
  const marks = [before, proxy.paths.length];
  for (let i = 1; i <= CUTS; i++) {
    await labControl({ url: serverUrl, close: async () => {} }, 'cut');
    await opens(i + 1);
    marks.push(proxy.paths.length);
  }
  const { states, opens: opened } = await page.evaluate(() => {
    const w = window as unknown as MeasureWindow;
    w.client.close();
    return { states: w.states, opens: w.opens };
  });
  return opened.map((open, i) => {
    // The last time the client started connecting before this open: after the backoff delay.
    const start = i === 0 ? 0 : (states.filter((s) => s.to === 'connecting' && s.at < open.at).pop()?.at ?? 0);
    return {
      ms: Math.round(open.at - start),
      transport: open.transport,
      requests: tally(proxy.paths.slice(marks[i], marks[i + 1])),
    };
  });
}

function print(label: string, connects: readonly Connect[]): void {
  console.log(
    `${label}:\n` +
      connects
        .map(
          (c, i) =>
            `  ${i === 0 ? 'first connect' : `reconnect ${i}`}: ${c.ms} ms on ${c.transport}; ` +
            `${Object.values(c.requests).reduce((a, b) => a + b, 0)} requests ${JSON.stringify(c.requests)}`,
        )
        .join('\n'),
  );
}

describe.skipIf(skipBrowserTests)('reconnecting behind a buffering proxy in Chromium', () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function run(bundle: string): Promise<Connect[]> {
    if (!browser) throw new Error('Chromium is not running');
    const server = await startExamples();
    const proxy = await HttpProxy.start();
    try {
      const context = await browser.newContext({ proxy: proxy.playwright });
      try {
        return await measure(await context.newPage(), proxy, server.url, bundle);
      } finally {
        await context.close();
      }
    } finally {
      await proxy.close();
      await server.close();
    }
  }

  it('on SockJS, a reconnect reuses the sub-transport that opened instead of searching again', async () => {
    const connects = await run('surelink.full.min.js');
    print('SockJS (surelink.full.min.js)', connects);
    expect(connects.map((c) => c.transport)).toEqual(Array(CUTS + 1).fill('sockjs'));
    // The first connect searched: the streaming transports were tried and timed out.
    expect(connects[0]?.requests['sockjs xhr_streaming']).toBeGreaterThan(0);
    for (const c of connects.slice(1)) {
      expect(c.requests['sockjs xhr_streaming'] ?? 0).toBe(0);
      expect(c.requests['sockjs eventsource'] ?? 0).toBe(0);
      expect(c.requests['sockjs htmlfile'] ?? 0).toBe(0);
      expect(c.requests['sockjs info'] ?? 0).toBeLessThanOrEqual(1);
    }
  }, 90_000);

  it('on long polling (no SockJS in the bundle), for comparison', async () => {
    const connects = await run('surelink.min.js');
    print('long polling (surelink.min.js)', connects);
    expect(connects.map((c) => c.transport)).toEqual(Array(CUTS + 1).fill('longpoll'));
  }, 90_000);
});
