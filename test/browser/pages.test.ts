// Every example page in real Chromium: it loads without a console error (screenshot saved under
// test-results/screenshots/), the script-tag bundle's global works, and the ESM build runs in the
// page with no bundler. Needs `npm run build` first (`npm test` does it).
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type * as SurelinkModule from '../../src/index.js';
import {
  collectPageErrors,
  screenshot,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type LabWindow,
} from '../helpers/browser.js';

type SurelinkWindow = Window & { Surelink: typeof SurelinkModule };

/** What tells that each page is up and working, beyond having loaded. */
const READY: Record<string, (page: Page) => Promise<unknown>> = {
  index: (page) => page.locator('a[href="/lab.html"]').waitFor(WAIT),
  chat: (page) => page.waitForFunction(() => document.getElementById('state')?.textContent === 'open', null, WAIT),
  prices: (page) =>
    page.waitForFunction(() => document.querySelectorAll('#quotes tr td.price:not(:empty)').length === 8, null, WAIT),
  lab: (page) =>
    page.waitForFunction(
      () =>
        (window as unknown as LabWindow).client.state === 'open' && document.getElementById('rtt')?.textContent !== '–',
      null,
      WAIT,
    ),
};

describe.skipIf(skipBrowserTests)('example pages in Chromium', () => {
  const chromium = useChromium();

  it.each(Object.keys(READY))('%s.html loads and works with no console error', async (name) => {
    await withExamples(chromium(), async ({ url }) => {
      const page = await chromium().context.newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${url}/${name}.html`);
      await READY[name]!(page);
      await screenshot(page, name);
      expect(errors).toEqual([]);
    });
  });

  it('the script-tag bundle defines Surelink, whose RealtimeClient connects and exchanges messages', async () => {
    await withExamples(chromium(), async ({ url }) => {
      const page = await chromium().context.newPage();
      await page.goto(`${url}/chat.html`);
      const result = await page.evaluate(
        async (wsUrl) => {
          const { Surelink } = window as unknown as SurelinkWindow;
          const client = new Surelink.RealtimeClient<{ chat: { from: string; text: string } }>(wsUrl);
          try {
            const opened = await client.waitFor('open', { timeoutMs: 10_000 });
            const echo = await client.request('echo', { n: 42 }, { timeoutMs: 10_000 });
            const chat = client.waitFor('chat', { timeoutMs: 10_000 });
            const sent = client.send('chat', { text: 'from the global' });
            const stores =
              typeof Surelink.webStorageStore === 'function' && typeof Surelink.indexedDBStore === 'function';
            return { stores, transport: opened.transport, echo, sent, chat: (await chat).text };
          } finally {
            client.close();
          }
        },
        url.replace('http:', 'ws:') + '/realtime',
      );
      expect(result).toEqual({
        stores: true,
        transport: 'websocket',
        echo: { n: 42 },
        sent: 'sent',
        chat: 'from the global',
      });
    });
  });

  it('the ESM build runs unbundled: the price board shows pushed prices, and SockJS is never downloaded', async () => {
    await withExamples(chromium(), async ({ url }) => {
      const page = await chromium().context.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(new URL(request.url()).pathname));
      await page.goto(`${url}/prices.html`);
      await page.waitForFunction(() => document.getElementById('state')?.textContent === 'open', null, WAIT);
      await READY.prices!(page);
      // The server pushes every 500 ms: three updates prove it pushes, not only answers.
      await page.waitForFunction(
        () => Number.parseInt(document.getElementById('summary')?.textContent ?? '', 10) >= 3,
        null,
        WAIT,
      );
      const prices = await page.locator('#quotes td.price').allTextContents();
      expect(prices).toHaveLength(8);
      for (const price of prices) expect(price).toMatch(/^\d[\d,]*\.\d\d$/);
      expect(await page.locator('#transport').textContent()).toBe('over websocket');
      expect(requested).toContain('/dist/index.js');
      expect(requested).toContain('/vendor/eventemitter3.js');
      expect(requested).not.toContain('/shims/sockjs-client.js');
      expect(requested).not.toContain('/vendor/sockjs.min.js');
    });
  });
});
