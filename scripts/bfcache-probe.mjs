// Does Chromium put a page in its back/forward cache, and does a held Web Lock (alone, or the one a
// surelink client with a shared session store takes) keep it out? Navigates A -> B -> back on the
// examples server and reports whether A was restored (same document, `pageshow` persisted) and
// Chromium's reasons when not (CDP `Page.backForwardCacheNotUsed`). Each single-page case runs with
// Playwright's default switches (they include --disable-back-forward-cache: every other browser test
// here launches that way) and without that one switch. Then, with the cache on, another tab contends
// for the lock while A is cached. Build first: `npm run build && node scripts/bfcache-probe.mjs`.
// test/browser/bfcache.test.ts checks the findings that the client relies on.
/* global window, document, location, addEventListener */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium.mjs';
import { startExamplesServer } from './examples-server.mjs';

const holdLock = (name) =>
  new Promise((granted) => {
    void navigator.locks.request(name, () => {
      granted();
      return new Promise(() => {}); // held for the page's life
    });
  });

/** A surelink client as `window.client`, open; `storage` names the shared store, if any. */
const openClient = async (storage) => {
  const { RealtimeClient, webStorageStore, indexedDBStore } = window.Surelink;
  const queue = storage && {
    storage: storage === 'localStorage' ? webStorageStore(localStorage) : indexedDBStore(),
    storageKey: 'probe',
  };
  window.opens = [];
  window.warnings = [];
  window.client = new RealtimeClient(new URL('/realtime', location.href).href, {
    ...(queue && { queue }),
    logger: { debug() {}, info() {}, warn: (m) => window.warnings.push(m), error() {} },
  });
  window.client.on('open', ({ resumed }) => window.opens.push(resumed));
  await new Promise((open) => window.client.once('open', open));
  // The lock is taken before the stored session is read, so it is held by now.
  const { held } = await navigator.locks.query();
  return held.map((lock) => lock.name);
};

/** What page A does before it is navigated away from, and with what argument. */
const CASES = {
  'plain page': [() => {}],
  'Web Lock held': [holdLock, 'probe'],
  'surelink, no storage': [openClient],
  'surelink, localStorage (lock)': [openClient, 'localStorage'],
  'surelink, IndexedDB (lock)': [openClient, 'indexedDB'],
};

async function launch(bfcache) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS],
    headless: true,
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : [],
  });
}

/** Page A at `url`, marked so a restored document can be told from a reloaded one. */
async function openA(context, url, setup, arg) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Page.enable');
  const notUsed = [];
  cdp.on('Page.backForwardCacheNotUsed', (e) =>
    notUsed.push(...e.notRestoredExplanations.map((x) => `${x.type}:${x.reason}`)),
  );
  await page.goto(`${url}/index.html?a`);
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate(() => {
    window.marker = 'A';
    window.shows = [];
    addEventListener('pageshow', (e) => window.shows.push(e.persisted));
  });
  const setupResult = await page.evaluate(`(${setup})(${JSON.stringify(arg) ?? ''})`);
  return { page, notUsed, setupResult };
}

async function back(page, notUsed) {
  // A restore from the cache fires no `load`: wait for the commit, then for `pageshow`.
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForFunction(() => document.readyState === 'complete' && (window.shows?.length ?? 1) > 0);
  // A restored client reconnects on `pageshow`.
  await page
    .waitForFunction(() => !window.client || window.client.state === 'open', null, { timeout: 10_000 })
    .catch(() => {});
  const seen = await page.evaluate(() => ({
    restored: window.marker === 'A',
    pageshowPersisted: window.shows?.at(-1) ?? null,
    clientState: window.client?.state ?? null,
    opens: window.opens ?? null,
    notRestoredReasons: performance.getEntriesByType('navigation')[0]?.notRestoredReasons?.reasons ?? null,
  }));
  return { ...seen, cdpNotUsed: notUsed };
}

async function single(url, bfcache, [setup, arg]) {
  const browser = await launch(bfcache);
  try {
    const { page, notUsed, setupResult } = await openA(await browser.newContext(), url, setup, arg);
    await page.goto(`${url}/index.html?b`);
    return { locksHeld: setupResult ?? null, ...(await back(page, notUsed)) };
  } finally {
    await browser.close();
  }
}

/** What the contending tab C does while A (a surelink client on localStorage) is cached. */
const CONTENDERS = {
  'request(ifAvailable)': () =>
    new Promise((r) =>
      navigator.locks.request('surelink:probe', { ifAvailable: true }, (lock) => {
        r(lock ? 'granted' : 'not available');
        return lock ? new Promise(() => {}) : undefined;
      }),
    ),
  'query()': async () => JSON.stringify((await navigator.locks.query()).held.map((l) => l.name)),
  'surelink client, same store': async () => {
    window.opens = [];
    window.warnings = [];
    const { RealtimeClient, webStorageStore } = window.Surelink;
    window.client = new RealtimeClient(new URL('/realtime', location.href).href, {
      queue: { storage: webStorageStore(localStorage), storageKey: 'probe' },
      logger: { debug() {}, info() {}, warn: (m) => window.warnings.push(m), error() {} },
    });
    window.client.on('open', ({ resumed }) => window.opens.push(resumed));
    await new Promise((open) => window.client.once('open', open));
    return { opens: window.opens, warnings: window.warnings };
  },
};

async function contention(url, contend) {
  const browser = await launch(true);
  try {
    const context = await browser.newContext();
    const { page, notUsed } = await openA(context, url, openClient, 'localStorage');
    await page.goto(`${url}/index.html?b`);
    const c = await context.newPage();
    await c.goto(`${url}/index.html?c`);
    await c.addScriptTag({ url: '/dist/surelink.min.js' });
    const started = Date.now();
    const tabC = await c.evaluate(`(${contend})()`);
    return { tabC, tabCms: Date.now() - started, ...(await back(page, notUsed)) };
  } finally {
    await browser.close();
  }
}

const server = await startExamplesServer({ port: 0, host: '127.0.0.1' });
try {
  const browser = await launch(false);
  console.log(`Chromium ${browser.version()}`);
  await browser.close();
  for (const bfcache of [false, true]) {
    console.log(
      `\nA -> B -> back, ${bfcache ? 'without --disable-back-forward-cache' : "Playwright's default switches"}:`,
    );
    for (const [name, setup] of Object.entries(CASES)) {
      console.log(`  ${name.padEnd(30)} ${JSON.stringify(await single(server.url, bfcache, setup))}`);
    }
  }
  console.log('\nA (surelink, localStorage) cached on B; tab C contends; then A goes back:');
  for (const [name, contend] of Object.entries(CONTENDERS)) {
    console.log(`  ${name.padEnd(30)} ${JSON.stringify(await contention(server.url, contend))}`);
  }
} finally {
  await server.close();
}
