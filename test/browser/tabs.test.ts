// Two tabs of one app whose session store is shared (localStorage), in real Chromium: one tab owns
// the stored session (Web Locks), the other keeps its own in memory. Neither takes the session from
// the other, and every message of both is delivered exactly once (counted at the server).
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient, webStorageStore } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
} from '../helpers/browser.js';

interface TabWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient; webStorageStore: typeof webStorageStore };
  client: RealtimeClient;
  /** `resumed` of every `open`: one entry unless the session was taken away and came back. */
  opens: boolean[];
  warnings: string[];
}

async function openTab(browser: Chromium, server: ExamplesServer): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/index.html`);
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate(() => {
    const w = window as unknown as TabWindow;
    w.opens = [];
    w.warnings = [];
    w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
      queue: { storage: w.Surelink.webStorageStore(localStorage), storageKey: 'surelink:tabs' },
      logger: { debug() {}, info() {}, warn: (message) => w.warnings.push(message), error() {} },
    });
    w.client.on('open', ({ resumed }) => w.opens.push(resumed));
  });
  await page.waitForFunction(() => (window as unknown as TabWindow).client.state === 'open', null, WAIT);
  return { page, errors };
}

/** Sends one 'lab:message' per text, then waits for an echo: the server has them all by then. */
async function sendAll(page: Page, texts: readonly string[]): Promise<string[]> {
  return page.evaluate(async (all) => {
    const { client } = window as unknown as TabWindow;
    const results = all.map((text, i) => client.send('lab:message', { n: i + 1, text }));
    await client.request('echo', 'barrier', { timeoutMs: 10_000 });
    return results;
  }, texts);
}

const state = (page: Page) =>
  page.evaluate(() => {
    const { opens, warnings } = window as unknown as TabWindow;
    return { opens, warnings };
  });

describe.skipIf(skipBrowserTests)('two tabs sharing a session store in Chromium', () => {
  const chromium = useChromium();

  it('one tab owns the stored session, the other keeps its own in memory; every message arrives once', async () => {
    await withExamples(chromium(), async (server) => {
      const texts = (tab: string) => Array.from({ length: 5 }, (_, i) => `${tab} ${i + 1}`);
      const first = await openTab(chromium(), server);
      // The first tab's session is stored (with its resume token) before the second tab opens.
      expect(await sendAll(first.page, texts('first 0'))).toEqual(Array(5).fill('sent'));
      await first.page.waitForFunction(() => localStorage.getItem('surelink:tabs') !== null, null, WAIT);
      const second = await openTab(chromium(), server);
      for (let round = 0; round < 3; round++) {
        if (round > 0) expect(await sendAll(first.page, texts(`first ${round}`))).toEqual(Array(5).fill('sent'));
        expect(await sendAll(second.page, texts(`second ${round}`))).toEqual(Array(5).fill('sent'));
      }
      const all = [0, 1, 2].flatMap((round) => [...texts(`first ${round}`), ...texts(`second ${round}`)]);
      expect(await deliveries(server, all)).toEqual(all.map(() => 1));
      // Each tab opened once: neither resumed the other's session, which would drop the other's link.
      expect(await state(first.page)).toEqual({ opens: [false], warnings: [] });
      expect(await state(second.page)).toEqual({
        opens: [false],
        warnings: ["surelink: another tab or client holds 'surelink:tabs': one queue.storageKey per client"],
      });
      const stored = await first.page.evaluate(() => localStorage.getItem('surelink:tabs') ?? '');
      expect(stored).not.toContain('second');
      expect([...first.errors, ...second.errors]).toEqual([]);
    });
  });
});
