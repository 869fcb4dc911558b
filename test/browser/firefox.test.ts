// The client in real Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi)
// against the examples server, on each transport forced and in the default order: it opens,
// numbered messages go both ways exactly once and in order, a request is answered, a server-side
// cut (some messages written into the dead link) is resumed with nothing lost or repeated, and the
// queue stored in localStorage (webStorageStore) before a reload is resumed by the next page, which
// gets none of the server messages the page before it got. Then a reload on IndexedDB
// (indexedDBStore), two tabs on one stored session, the browser going offline (emulated) and back
// on each transport, the fallback when WebSocket is refused, and going back to a page that queued
// on its way out. Deliveries to the server are counted there (the lab's 'lab:message' log); the
// server confirms each with a 'lab:received' { n }, which are the numbered messages the other way.
// Needs `npm run build` first.
import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import type { indexedDBStore, RealtimeClient, TransportName, webStorageStore } from '../../src/index.js';
import { deliveries, labControl, WAIT, type ExamplesServer, type LabMessage } from '../helpers/browser.js';
import { collectFirefoxErrors, skipFirefoxTests, useFirefox, withFirefoxExamples } from '../helpers/firefox.js';

type Mode = TransportName | 'auto';

interface FirefoxWindow {
  Surelink: {
    RealtimeClient: typeof RealtimeClient;
    webStorageStore: typeof webStorageStore;
    indexedDBStore: typeof indexedDBStore;
  };
  client: RealtimeClient;
  /** Every `open`: its transport and whether it resumed the session. */
  opens: { transport: string; resumed: boolean }[];
  /** `n` of every 'lab:received' this document's app got, in order. */
  got: number[];
  warnings: string[];
  /** From now on the client's clock starts no timer: no acknowledgement goes out for the time. */
  hold(): void;
  /** The client is told the network went (its `lifecycle`): it lets go of its link and queues. */
  goOffline(): void;
}

const keyOf = (mode: Mode) => `surelink:firefox:${mode}`;
const textOf = (mode: Mode, n: number) => `${mode} ${n}`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A client on `localStorage` (or IndexedDB) in `page` (on index.html), forced to `mode`'s transport, recording. */
async function startClient(
  page: Page,
  mode: Mode,
  store: 'localStorage' | 'indexedDB' = 'localStorage',
): Promise<void> {
  await page.addScriptTag({ url: '/dist/surelink.full.min.js' });
  await page.evaluate(
    (key, transports, storeName) => {
      const w = window as unknown as FirefoxWindow;
      w.opens = [];
      w.got = [];
      w.warnings = [];
      let held = false;
      w.hold = () => void (held = true);
      const network = new EventTarget();
      let online = true;
      w.goOffline = () => {
        online = false;
        network.dispatchEvent(new Event('offline'));
      };
      const targetOf = (type: string) => (type === 'online' || type === 'offline' ? network : window);
      w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
        ...(transports ? { transports } : {}),
        queue: {
          storage: storeName === 'indexedDB' ? w.Surelink.indexedDBStore() : w.Surelink.webStorageStore(localStorage),
          storageKey: key,
        },
        lifecycle: {
          window: {
            addEventListener: (type: string, fn: EventListener) => targetOf(type).addEventListener(type, fn),
            removeEventListener: (type: string, fn: EventListener) => targetOf(type).removeEventListener(type, fn),
          },
          document,
          navigator: {
            get onLine() {
              return online;
            },
          },
        },
        clock: {
          now: () => Date.now(),
          setTimeout: (fn, ms) => (held ? undefined : setTimeout(fn, ms)),
          clearTimeout: (handle) => clearTimeout(handle as number | undefined),
        },
        logger: { debug() {}, info() {}, warn: (message) => w.warnings.push(message), error() {} },
      });
      w.client.on('open', ({ transport, resumed }) => w.opens.push({ transport, resumed }));
      w.client.on('lab:received', (data) => w.got.push((data as { n: number }).n));
    },
    keyOf(mode),
    mode === 'auto' ? null : [mode],
    store,
  );
  await waitFlushed(page);
}

/** Open, with nothing left in the queue. */
const waitFlushed = (page: Page) =>
  page.waitForFunction(() => {
    const client = (window as unknown as FirefoxWindow).client;
    return client?.state === 'open' && client.queued === 0;
  }, WAIT);

/** Sends 'lab:message' `n` for each of `ns`; returns what each `send` returned. */
const send = (page: Page, mode: Mode, ns: readonly number[]): Promise<string[]> =>
  page.evaluate(
    (all, texts) =>
      all.map((n, i) => (window as unknown as FirefoxWindow).client.send('lab:message', { n, text: texts[i] })),
    ns,
    ns.map((n) => textOf(mode, n)),
  );

/** A round trip: the server answers in order, so every message sent before has been delivered by then. */
const barrier = (page: Page) =>
  page.evaluate(() => (window as unknown as FirefoxWindow).client.request('echo', 'barrier', { timeoutMs: 10_000 }));

/** Waits until the app got `count` confirmations; returns them. */
async function gotAfter(page: Page, count: number): Promise<number[]> {
  await page.waitForFunction((c) => (window as unknown as FirefoxWindow).got.length >= c, WAIT, count);
  return page.evaluate(() => (window as unknown as FirefoxWindow).got);
}

/** The `n` of each of `mode`'s messages the server delivered, in the order it delivered them. */
async function serverOrder(server: ExamplesServer, mode: Mode): Promise<number[]> {
  const { messages } = (await (await fetch(`${server.url}/lab/received`)).json()) as { messages: LabMessage[] };
  return messages.filter((m) => m.text.startsWith(`${mode} `)).map((m) => m.n);
}

const recorded = (page: Page) =>
  page.evaluate(async () => {
    const { opens, warnings } = window as unknown as FirefoxWindow;
    const { held = [] } = await navigator.locks.query();
    return { opens, warnings, locks: held.map((lock) => lock.name) };
  });

/**
 * The page that reloaded onto a session that had delivered 1..3 and queued 4..6: it resumed on
 * WebSocket holding the lock, with no warning, was told of 4..6 once, and the server has 1..6 in order.
 */
async function expectResumedAfterThree(page: Page, server: ExamplesServer, errors: string[]): Promise<void> {
  expect(await barrier(page)).toBe('barrier');
  expect(await recorded(page)).toEqual({
    opens: [{ transport: 'websocket', resumed: true }],
    warnings: [],
    locks: [`surelink:${keyOf('auto')}`],
  });
  expect(await gotAfter(page, 3)).toEqual([4, 5, 6]);
  expect(await serverOrder(server, 'auto')).toEqual(range(1, 6));
  expect(errors).toEqual([]);
}

describe.skipIf(skipFirefoxTests)('the client in Firefox', () => {
  const firefox = useFirefox();

  it.each<Mode>(['websocket', 'sockjs', 'longpoll', 'auto'])(
    '%s: messages both ways once and in order, a request, a server cut resumed, a reload resumed',
    async (mode) => {
      await withFirefoxExamples(firefox(), async (server) => {
        const page = await firefox().browser.newPage();
        const errors = collectFirefoxErrors(page);
        await page.goto(`${server.url}/index.html`);
        await startClient(page, mode);
        const transport = mode === 'auto' ? 'websocket' : mode;
        const lock = `surelink:${keyOf(mode)}`;
        expect(await recorded(page)).toEqual({
          opens: [{ transport, resumed: false }],
          warnings: [],
          locks: [lock],
        });

        // 1..20 each way, then a request (21), answered after its own confirmation.
        expect(await send(page, mode, range(1, 20))).toEqual(range(1, 20).map(() => 'sent'));
        expect(
          await page.evaluate(
            (text) =>
              (window as unknown as FirefoxWindow).client.request(
                'lab:request',
                { n: 21, text },
                { timeoutMs: 10_000 },
              ),
            textOf(mode, 21),
          ),
        ).toEqual({ n: 21 });
        expect(await gotAfter(page, 21)).toEqual(range(1, 21));

        // The server cuts every connection between 31 and 32: some of 22..41 go into a link that is
        // already dead, and come again on the resumed session, once.
        const cut = await page.evaluate(
          async (before, after) => {
            const { client } = window as unknown as FirefoxWindow;
            for (const [n, text] of before) client.send('lab:message', { n, text });
            const res = await fetch('/lab/cut', { method: 'POST' });
            if (!res.ok) throw new Error(`cut: HTTP ${res.status}`);
            for (const [n, text] of after) client.send('lab:message', { n, text });
            return ((await res.json()) as { cut: number }).cut;
          },
          range(22, 31).map((n) => [n, textOf(mode, n)] as const),
          range(32, 41).map((n) => [n, textOf(mode, n)] as const),
        );
        expect(cut).toBeGreaterThan(0);
        // Every confirmation back is the end of the cut, whether or not the client saw it.
        await page.waitForFunction(() => (window as unknown as FirefoxWindow).got.length >= 41, WAIT);
        await waitFlushed(page);
        expect(await barrier(page)).toBe('barrier');
        expect(await gotAfter(page, 41)).toEqual(range(1, 41));
        expect(await serverOrder(server, mode)).toEqual(range(1, 41));
        // Long polling does not see the cut, in Firefox as in Chromium: the held poll's fetch does not
        // fail (the browser sends a request whose connection was reset before any of its response
        // again), so the link goes on. The other transports' sockets close; the session is resumed.
        expect((await recorded(page)).opens).toEqual([
          { transport, resumed: false },
          ...(mode === 'longpoll' ? [] : [{ transport, resumed: true }]),
        ]);

        // 42..61 confirmed with no acknowledgement out (no timer runs), then offline: 62..66 are
        // queued and stored in localStorage, and the page reloads.
        await page.evaluate(() => (window as unknown as FirefoxWindow).hold());
        await send(page, mode, range(42, 61));
        expect(await gotAfter(page, 61)).toEqual(range(1, 61));
        await page.evaluate(() => (window as unknown as FirefoxWindow).goOffline());
        await page.waitForFunction(() => (window as unknown as FirefoxWindow).client.state !== 'open', WAIT);
        expect(await send(page, mode, range(62, 66))).toEqual(range(62, 66).map(() => 'queued'));
        expect(await page.evaluate((key) => localStorage.getItem(key) ?? '', keyOf(mode))).toContain(textOf(mode, 66));
        await page.reload(WAIT);

        // The next page takes the lock, resumes the session and sends the queue; it gets only the
        // confirmations of 62..66. Then 67..86 come in and it reloads before an ack is due.
        await startClient(page, mode);
        expect(await barrier(page)).toBe('barrier');
        expect(await gotAfter(page, 5)).toEqual(range(62, 66));
        expect(await recorded(page)).toEqual({ opens: [{ transport, resumed: true }], warnings: [], locks: [lock] });
        await page.evaluate(() => (window as unknown as FirefoxWindow).hold());
        await send(page, mode, range(67, 86));
        expect(await gotAfter(page, 25)).toEqual(range(62, 86));
        await page.reload(WAIT);

        // The page after it (pagehide stored what its app got) is given none of them again.
        await startClient(page, mode);
        expect(await barrier(page)).toBe('barrier');
        expect(await page.evaluate(() => (window as unknown as FirefoxWindow).got)).toEqual([]);
        expect(await recorded(page)).toEqual({ opens: [{ transport, resumed: true }], warnings: [], locks: [lock] });
        expect(await serverOrder(server, mode)).toEqual(range(1, 86));
        expect(errors).toEqual([]);
      });
    },
  );
  it('two tabs on one localStorage key: one owns the stored session (Web Lock), the other keeps its own; each message once', async () => {
    await withFirefoxExamples(firefox(), async (server) => {
      const first = await firefox().browser.newPage();
      const second = await firefox().browser.newPage();
      const errors = [...collectFirefoxErrors(first), ...collectFirefoxErrors(second)];
      await first.goto(`${server.url}/index.html`);
      await startClient(first, 'auto');
      expect(await send(first, 'auto', range(1, 5))).toEqual(range(1, 5).map(() => 'sent'));
      expect(await barrier(first)).toBe('barrier');
      await second.goto(`${server.url}/index.html`);
      await startClient(second, 'auto');
      expect(await send(second, 'auto', range(6, 10))).toEqual(range(6, 10).map(() => 'sent'));
      expect(await barrier(second)).toBe('barrier');
      expect(await recorded(second)).toEqual({
        opens: [{ transport: 'websocket', resumed: false }],
        warnings: [`surelink: another tab or client holds '${keyOf('auto')}': one queue.storageKey per client`],
        locks: [`surelink:${keyOf('auto')}`], // the first tab's: the query lists every tab's locks
      });
      expect(await gotAfter(first, 5)).toEqual(range(1, 5));
      expect(await gotAfter(second, 5)).toEqual(range(6, 10));
      expect(await second.evaluate((key) => localStorage.getItem(key) ?? '', keyOf('auto'))).not.toContain('auto 6');
      expect(await serverOrder(server, 'auto')).toEqual(range(1, 10));
      expect(errors).toEqual([]);
    });
  });

  it('indexedDBStore: the queue stored while offline is resumed by the reloaded page and sent once', async () => {
    await withFirefoxExamples(firefox(), async (server) => {
      const page = await firefox().browser.newPage();
      const errors = collectFirefoxErrors(page);
      await page.goto(`${server.url}/index.html`);
      await startClient(page, 'auto', 'indexedDB');
      expect(await send(page, 'auto', range(1, 3))).toEqual(['sent', 'sent', 'sent']);
      expect(await barrier(page)).toBe('barrier');
      await page.evaluate(() => (window as unknown as FirefoxWindow).goOffline());
      await page.waitForFunction(() => (window as unknown as FirefoxWindow).client.state !== 'open', WAIT);
      expect(await send(page, 'auto', range(4, 6))).toEqual(['queued', 'queued', 'queued']);
      // At once: each write starts with its `send`.
      await page.reload(WAIT);
      await startClient(page, 'auto', 'indexedDB');
      await expectResumedAfterThree(page, server, errors);
    });
  });

  it('the browser offline (emulated): each transport lets go and queues, then resumes when online; each message once', async () => {
    await withFirefoxExamples(firefox(), async (server) => {
      for (const transport of ['websocket', 'sockjs', 'longpoll'] as const) {
        const page = await firefox().browser.newPage();
        const errors = collectFirefoxErrors(page);
        await page.goto(`${server.url}/index.html`);
        await page.addScriptTag({ url: '/dist/surelink.full.min.js' });
        // The browser's own `online`/`offline` events and `navigator.onLine` (the default lifecycle).
        await page.evaluate(async (t) => {
          const w = window as unknown as FirefoxWindow;
          w.opens = [];
          w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, { transports: [t] });
          w.client.on('open', ({ transport: opened, resumed }) => w.opens.push({ transport: opened, resumed }));
          await w.client.waitFor('open', { timeoutMs: 10_000 });
        }, transport);
        await page.setOfflineMode(true);
        try {
          await page.waitForFunction(
            () => !navigator.onLine && (window as unknown as FirefoxWindow).client.state === 'reconnecting',
            WAIT,
          );
          const texts = [1, 2, 3].map((n) => `offline ${transport} ${n}`);
          expect(
            await page.evaluate(
              (all) =>
                all.map((text, i) =>
                  (window as unknown as FirefoxWindow).client.send('lab:message', { n: i + 1, text }),
                ),
              texts,
            ),
          ).toEqual(['queued', 'queued', 'queued']);
          expect(await deliveries(server, texts)).toEqual([0, 0, 0]);
          await page.setOfflineMode(false);
          await waitFlushed(page);
          expect(await barrier(page)).toBe('barrier');
          expect(await deliveries(server, texts)).toEqual([1, 1, 1]);
          expect(await page.evaluate(() => (window as unknown as FirefoxWindow).opens)).toEqual([
            { transport, resumed: false },
            { transport, resumed: true },
          ]);
          expect(errors).toEqual([]);
        } finally {
          await page.setOfflineMode(false);
        }
      }
    });
  });

  it('WebSocket refused: the default order falls back to SockJS, or to long polling without SockJS, and works', async () => {
    await withFirefoxExamples(firefox(), async (server) => {
      await labControl(server, 'refuse-upgrades?on=1');
      const page = await firefox().browser.newPage();
      await page.goto(`${server.url}/index.html`);
      // surelink.full.min.js has sockjs-client built in; surelink.min.js has none (no window.SockJS here).
      for (const [bundle, transport] of [
        ['surelink.full.min.js', 'sockjs'],
        ['surelink.min.js', 'longpoll'],
      ] as const) {
        await page.reload(WAIT);
        await page.addScriptTag({ url: `/dist/${bundle}` });
        expect(
          await page.evaluate(async (text) => {
            const { Surelink } = window as unknown as FirefoxWindow;
            const client = new Surelink.RealtimeClient(new URL('/realtime', location.href).href.replace('http', 'ws'));
            try {
              const { transport: opened } = await client.waitFor('open', { timeoutMs: 10_000 });
              const answer = await client.request('lab:request', { n: 1, text }, { timeoutMs: 10_000 });
              return { opened, answer };
            } finally {
              client.close();
            }
          }, `fallback ${transport}`),
        ).toEqual({ opened: transport, answer: { n: 1 } });
        expect(await deliveries(server, [`fallback ${transport}`])).toEqual([1]);
      }
    });
  });

  // Chromium caches such a page and restores it holding the lock (test/browser/bfcache.test.ts).
  // Firefox 153 does not cache a page with an open client, on any transport, with or without a
  // store (its `pagehide` says `persisted: false`, decided before the client can close its link),
  // nor one holding a Web Lock: going back loads the page anew, which resumes the stored session.
  it('back to a page that queued on its way out: Firefox loads it anew, and it resumes and sends the queue once', async () => {
    await withFirefoxExamples(firefox(), async (server) => {
      const page = await firefox().browser.newPage();
      const errors = collectFirefoxErrors(page);
      await page.goto(`${server.url}/index.html?a`);
      await startClient(page, 'auto');
      expect(await send(page, 'auto', range(1, 3))).toEqual(['sent', 'sent', 'sent']);
      expect(await barrier(page)).toBe('barrier');
      await page.evaluate(() => {
        const w = window as unknown as FirefoxWindow & { left?: boolean };
        w.left = true;
        addEventListener('pagehide', (event) => {
          sessionStorage.setItem('persisted', String(event.persisted));
          for (const n of [4, 5, 6]) w.client.send('lab:message', { n, text: `auto ${n}` });
        });
      });
      await page.goto(`${server.url}/index.html?b`);
      expect(await page.evaluate((key) => localStorage.getItem(key) ?? '', keyOf('auto'))).toContain('auto 6');

      await page.evaluate(() => history.back());
      await page.waitForFunction(() => location.search === '?a' && document.readyState === 'complete', WAIT);
      expect(
        await page.evaluate(() => ({
          restored: (window as unknown as { left?: boolean }).left === true,
          persisted: sessionStorage.getItem('persisted'),
        })),
      ).toEqual({ restored: false, persisted: 'false' });
      await startClient(page, 'auto');
      await expectResumedAfterThree(page, server, errors);
    });
  });
});
