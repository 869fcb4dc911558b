// A client closed and at once replaced by a new one with the same storage key, in one page of real
// Chromium: React StrictMode's mount/unmount/mount in development, a remount on a route change, a
// re-login. The new client owns the stored session (the Web Lock of the closed one is not taken for
// another tab's): what it queues while it cannot connect survives a reload and is delivered once
// (counted at the server). And the last page's stored queue is not lost on the way: each of its
// messages is either returned by the closed client's `close()` (README: the messages never
// confirmed delivered) or delivered once by the pages after, never both, never neither.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { indexedDBStore, RealtimeClient, webStorageStore } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  labControl,
  skipBrowserTests,
  storedSession,
  useChromium,
  WAIT,
  withExamples,
} from '../helpers/browser.js';

type StoreKind = 'localStorage' | 'indexedDB';
/** How the first client of the page goes before the second is created (see `start`). */
type Way = 'same tick' | 'next task' | 'holding the lock' | 'holding the lock, close() awaited';

interface RemountWindow {
  Surelink: {
    RealtimeClient: typeof RealtimeClient;
    webStorageStore: typeof webStorageStore;
    indexedDBStore: typeof indexedDBStore;
  };
  /** A new client on `key` and the page's store, over WebSocket alone. */
  make(): RealtimeClient;
  /** The client the page kept. */
  client: RealtimeClient;
  /** The client closed before it was created (the first mount). */
  first?: RealtimeClient;
  /** `text` of each message the first client's `close()` returned. */
  returned: string[];
  warnings: string[];
}

/** Loads the bundle and defines `make()` for `kind` and `key`. */
async function setUp(page: Page, kind: StoreKind, key: string): Promise<void> {
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate(
    ([storeKind, storageKey]) => {
      const w = window as unknown as RemountWindow;
      w.returned = [];
      w.warnings = [];
      w.make = () =>
        new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
          queue: {
            storage: storeKind === 'indexedDB' ? w.Surelink.indexedDBStore() : w.Surelink.webStorageStore(localStorage),
            storageKey,
          },
          transports: ['websocket'],
          logger: { debug() {}, info() {}, warn: (message) => w.warnings.push(message), error() {} },
        });
    },
    [kind, key] as const,
  );
}

/** One client on the page's store, as an app without a remount has. */
const startOne = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as RemountWindow;
    w.client = w.make();
  });

/**
 * In one evaluation (one task unless `way` waits): the first client created, closed `way`, and a
 * second one created right after its `close()`. "holding the lock": once the first client holds the
 * key's Web Lock (polled, bounded by WAIT), so it owns the key when closed.
 */
async function remount(page: Page, key: string, way: Way): Promise<void> {
  await page.evaluate(
    async ([how, lock, timeout]) => {
      const w = window as unknown as RemountWindow;
      const first = w.make();
      if (how === 'next task') await new Promise((resolve) => setTimeout(resolve, 0));
      const deadline = Date.now() + timeout;
      const held = async () => ((await navigator.locks.query()).held ?? []).some((l) => l.name === lock);
      while (how.startsWith('holding') && !(await held())) {
        if (Date.now() > deadline) throw new Error('the first client never held the lock');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const returned = how === 'holding the lock, close() awaited' ? await first.close() : first.close();
      w.returned = returned.map((m) => (m.data as { text: string }).text);
      w.client = w.make();
    },
    [way, `surelink:${key}`, WAIT.timeout] as const,
  );
}

/** The texts of the messages the page's store holds under `key`. */
async function storedTexts(page: Page, kind: StoreKind, key: string): Promise<string[]> {
  const record =
    kind === 'indexedDB'
      ? await storedSession(page, key)
      : await page.evaluate(
          (k) => JSON.parse(localStorage.getItem(k) ?? 'null') as Awaited<ReturnType<typeof storedSession>>,
          key,
        );
  return (record?.outbound.entries ?? []).map((e) => (e.data as { text: string }).text);
}

/** Queues one 'lab:message' per text on the page's client (it cannot connect): all 'queued'. */
async function queue(page: Page, texts: readonly string[]): Promise<void> {
  const results = await page.evaluate(
    (all) => all.map((text, i) => (window as unknown as RemountWindow).client.send('lab:message', { n: i + 1, text })),
    texts,
  );
  expect(results).toEqual(texts.map(() => 'queued'));
}

/** Until the store holds `texts` or the client said it runs in memory; which of the two came. */
async function storedOrWarned(page: Page, kind: StoreKind, key: string, texts: readonly string[]): Promise<string> {
  let outcome = 'waiting';
  await expect
    .poll(async () => {
      const warnings = await page.evaluate(() => (window as unknown as RemountWindow).warnings);
      const stored = await storedTexts(page, kind, key);
      outcome = warnings.length ? warnings.join('; ') : texts.every((t) => stored.includes(t)) ? 'stored' : 'waiting';
      return outcome;
    }, WAIT)
    .not.toBe('waiting');
  return outcome;
}

const WAYS: readonly Way[] = ['same tick', 'next task', 'holding the lock', 'holding the lock, close() awaited'];

describe.skipIf(skipBrowserTests)('a client closed and replaced at once on the same storage key in Chromium', () => {
  const chromium = useChromium();

  for (const kind of ['localStorage', 'indexedDB'] as const) {
    for (const way of WAYS) {
      it(`${kind}, ${way}: the new client owns the stored session, and no stored message is lost`, async () => {
        await withExamples(chromium(), async (server) => {
          const key = `surelink:remount:${kind}:${way}`;
          const before = ['before 1', 'before 2'].map((t) => `${kind} ${way} ${t}`);
          const after = ['after 1', 'after 2', 'after 3'].map((t) => `${kind} ${way} ${t}`);
          await labControl(server, 'refuse-upgrades?on=1'); // WebSocket refused, and the client has no other
          const page = await chromium().context.newPage();
          const errors = collectPageErrors(page);
          await page.goto(`${server.url}/index.html`);

          // The last page: its queue is stored.
          await setUp(page, kind, key);
          await startOne(page);
          await queue(page, before);
          expect(await storedOrWarned(page, kind, key, before)).toBe('stored');
          await page.reload(WAIT);

          // This page: mount, unmount, mount. The second client queues, and its queue is stored.
          await setUp(page, kind, key);
          await remount(page, key, way);
          await queue(page, after);
          expect(await storedOrWarned(page, kind, key, after)).toBe('stored');
          const returned = await page.evaluate(() => (window as unknown as RemountWindow).returned);
          // The first client could not have read the store yet: the lock is granted asynchronously.
          if (way === 'same tick') expect(returned).toEqual([]);
          expect(returned.every((text) => before.includes(text))).toBe(true);
          await page.reload(WAIT);

          // The next page connects and sends what is stored.
          await labControl(server, 'refuse-upgrades?on=0');
          await setUp(page, kind, key);
          await startOne(page);
          await page.waitForFunction(() => (window as unknown as RemountWindow).client.state === 'open', null, WAIT);
          await page.evaluate(() =>
            (window as unknown as RemountWindow).client.request('echo', 'barrier', { timeoutMs: 10_000 }),
          );
          expect(await deliveries(server, after)).toEqual(after.map(() => 1));
          const delivered = await deliveries(server, before);
          expect(before.map((text, i) => (returned.includes(text) ? 1 : 0) + (delivered[i] ?? 0))).toEqual(
            before.map(() => 1),
          );
          const { client, warnings } = await page.evaluate(() => {
            const w = window as unknown as RemountWindow;
            return { client: w.client.queued, warnings: w.warnings };
          });
          expect({ queued: client, warnings }).toEqual({
            queued: 0,
            warnings: [],
          });
          // Chromium logs each refused WebSocket handshake as a console error: the refusal itself.
          expect(errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
        });
      });
    }
  }
});
