// The stored session's Web Lock and Chromium's back/forward cache (what scripts/bfcache-probe.mjs
// measured): a page that holds the lock still enters the cache, comes back holding it and resumes
// its session; if another tab asks for the lock while the page is cached, Chromium evicts the page
// and grants the lock, so the other tab owns the stored session and the page comes back as a new
// one that does not. Each message is delivered exactly once either way (counted at the server).
// Playwright launches Chromium with --disable-back-forward-cache; these tests drop that one switch.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient, webStorageStore } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  skipBrowserTests,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
  useChromium,
} from '../helpers/browser.js';

const KEY = 'surelink:bfcache';

interface CachedWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient; webStorageStore: typeof webStorageStore };
  client: RealtimeClient;
  /** `resumed` of every `open`. */
  opens: boolean[];
  warnings: string[];
  /** `persisted` of every `pageshow` since the client was created. */
  shows: boolean[];
}

/** A client on the shared store in `page`, open, with `opens`, `warnings` and `shows` recorded. */
async function startClient(page: Page): Promise<void> {
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate((key) => {
    const w = window as unknown as CachedWindow;
    w.opens = [];
    w.warnings = [];
    w.shows = [];
    addEventListener('pageshow', (e) => w.shows.push(e.persisted));
    w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
      queue: { storage: w.Surelink.webStorageStore(localStorage), storageKey: key },
      logger: { debug() {}, info() {}, warn: (message) => w.warnings.push(message), error() {} },
    });
    w.client.on('open', ({ resumed }) => w.opens.push(resumed));
  }, KEY);
  await waitOpen(page);
}

const waitOpen = (page: Page) =>
  page.waitForFunction(() => (window as unknown as CachedWindow).client?.state === 'open', null, WAIT);

/** Sends one 'lab:message' per text, then waits for an echo: the server has them all by then. */
function sendAll(page: Page, texts: readonly string[]): Promise<string[]> {
  return page.evaluate(async (all) => {
    const { client } = window as unknown as CachedWindow;
    const results = all.map((text, i) => client.send('lab:message', { n: i + 1, text }));
    await client.request('echo', 'barrier', { timeoutMs: 10_000 });
    return results;
  }, texts);
}

/**
 * Page A: a client that owns the stored session, has sent `a 1..3` and will queue `a 4..6` on its
 * way into the cache (its own `pagehide` listener ran first and let go of the link by then).
 */
async function pageA(browser: Chromium, server: ExamplesServer): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/index.html?a`);
  await startClient(page);
  expect(await sendAll(page, ['a 1', 'a 2', 'a 3'])).toEqual(['sent', 'sent', 'sent']);
  await page.waitForFunction((key) => localStorage.getItem(key)?.includes('"resume"') ?? false, KEY, WAIT);
  await page.evaluate(() => {
    const w = window as unknown as CachedWindow & { queuedOnHide: string[] };
    addEventListener('pagehide', () => {
      w.queuedOnHide = ['a 4', 'a 5', 'a 6'].map((text, i) => w.client.send('lab:message', { n: i + 4, text }));
    });
  });
  return { page, errors };
}

/** Goes back to page A; returns whether it came from the cache (the same document, its client on). */
async function goBack(page: Page): Promise<boolean> {
  // A restore fires `pageshow` but no `load`: wait for the commit, then for either.
  await page.goBack({ waitUntil: 'commit', ...WAIT });
  await page.waitForFunction(
    () => document.readyState === 'complete' && ((window as unknown as CachedWindow).shows?.length ?? 1) > 0,
    null,
    WAIT,
  );
  return page.evaluate(() => {
    const { client, shows } = window as unknown as Partial<CachedWindow>;
    return client !== undefined && shows?.length === 1 && shows[0] === true;
  });
}

const state = (page: Page) =>
  page.evaluate(async () => {
    const { opens, warnings } = window as unknown as CachedWindow;
    const { held = [] } = await navigator.locks.query();
    return { opens, warnings, locks: held.map((lock) => lock.name) };
  });

describe.skipIf(skipBrowserTests)("the stored session's lock and the back/forward cache in Chromium", () => {
  const browser = useChromium({ backForwardCache: true });

  it('a page holding the lock is restored from the cache, keeps the lock and resumes; each message once', async () => {
    await withExamples(browser(), async (server) => {
      const a = await pageA(browser(), server);
      await a.page.goto(`${server.url}/index.html?b`);
      expect(await a.page.evaluate((key) => localStorage.getItem(key) ?? '', KEY)).toContain('a 6');

      expect(await goBack(a.page)).toBe(true);
      await waitOpen(a.page);
      expect(await a.page.evaluate(() => (window as unknown as { queuedOnHide: string[] }).queuedOnHide)).toEqual([
        'queued',
        'queued',
        'queued',
      ]);
      expect(await sendAll(a.page, ['a 7', 'a 8', 'a 9'])).toEqual(['sent', 'sent', 'sent']);
      // The first open, then the resume of the same session after the restore.
      expect(await state(a.page)).toEqual({ opens: [false, true], warnings: [], locks: [`surelink:${KEY}`] });
      const texts = Array.from({ length: 9 }, (_, i) => `a ${i + 1}`);
      expect(await deliveries(server, texts)).toEqual(texts.map(() => 1));
      expect(a.errors).toEqual([]);
    });
  });

  it('a tab opened while the owner is cached takes the lock and its queue; the owner comes back new, not owning', async () => {
    await withExamples(browser(), async (server) => {
      const a = await pageA(browser(), server);
      await a.page.goto(`${server.url}/index.html?b`);

      // Tab C asks for the lock that cached page A holds: Chromium evicts A and grants it to C,
      // which resumes A's stored session and sends A's queued `a 4..6`.
      const c = await browser().context.newPage();
      const cErrors = collectPageErrors(c);
      await c.goto(`${server.url}/index.html?c`);
      await startClient(c);
      expect(await sendAll(c, ['c 1', 'c 2', 'c 3'])).toEqual(['sent', 'sent', 'sent']);
      expect(await state(c)).toEqual({ opens: [true], warnings: [], locks: [`surelink:${KEY}`] });

      // A is a new document: it was evicted from the cache, and says why.
      expect(await goBack(a.page)).toBe(false);
      const reasons = await a.page.evaluate(() =>
        (
          performance.getEntriesByType('navigation')[0] as PerformanceEntry & {
            notRestoredReasons?: { reasons: { reason: string }[] | null } | null;
          }
        ).notRestoredReasons?.reasons?.map((r) => r.reason),
      );
      expect(reasons).toEqual(['weblocks-contention']);
      // Its new client finds C holding the stored session and keeps its own in memory.
      await startClient(a.page);
      expect(await sendAll(a.page, ['new a 1', 'new a 2'])).toEqual(['sent', 'sent']);
      expect(await state(a.page)).toEqual({
        opens: [false],
        warnings: [`surelink: another tab or client holds '${KEY}': one queue.storageKey per client`],
        locks: [`surelink:${KEY}`],
      });
      expect(await c.evaluate((key) => localStorage.getItem(key) ?? '', KEY)).not.toContain('new a');

      const texts = ['a 1', 'a 2', 'a 3', 'a 4', 'a 5', 'a 6', 'c 1', 'c 2', 'c 3', 'new a 1', 'new a 2'];
      expect(await deliveries(server, texts)).toEqual(texts.map(() => 1));
      expect([...a.errors, ...cErrors]).toEqual([]);
    });
  });
});
