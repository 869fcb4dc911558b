// Many tabs of one origin on long polling, in real Chromium. A browser allows 6 HTTP/1.1
// connections per host and profile, and every tab on long polling keeps a GET held open: from the
// 6th tab on, the held GETs take every connection, and what a tab sends (POSTs: messages, pings,
// acks) has to get one too: it does, because POSTs carry credentials ('same-origin') and GETs do
// not, and Chromium pools the two kinds apart. Each tab sends numbered messages, as events the
// server counts and confirms ('lab:message' -> 'lab:received') and as chat lines broadcast to every
// tab; each must arrive exactly once, in order, in every tab, with no reconnect, also through an
// idle spell on a short heartbeat (a ping stuck behind the GETs would time out: 4000). Latencies
// and the longest wait for a connection are printed per tab count; times are not asserted on.
// More tabs: LP_TABS=12 npx vitest run --project browser test/browser/longpoll-tabs.test.ts
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  labControl,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
} from '../helpers/browser.js';

interface TabWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient };
  client: RealtimeClient;
  /** What the tab saw, for the test to read back. */
  log: TabLog;
}

interface TabLog {
  /** `n` of every 'lab:received', in arrival order. */
  confirmed: number[];
  /** `tab:n` of every chat line, in arrival order. */
  chats: string[];
  /** Send -> confirmation ('lab:received') and send -> chat arrival, in ms. */
  confirmMs: number[];
  chatMs: number[];
  sentAt: Record<number, number>;
  reconnects: number;
  /** Close codes of the client's 'close' events (4000: heartbeat timeout). */
  closes: number[];
  /** Why the client went 'reconnecting' (a heartbeat or connect timeout, a failed request). */
  drops: string[];
  opens: number;
}

const MESSAGES = 10;
/** Between two sends of one tab. */
const SEND_EVERY_MS = 300;
/** Quiet time after the messages: a few heartbeats (HEARTBEAT) go by. */
const IDLE_MS = 6_000;
/** Short, so that pings go out during the test: one after 2 s of silence, dead after 3.5 s. */
const HEARTBEAT = { intervalMs: 2_000, timeoutMs: 1_500 };

async function openTab(browser: Chromium, server: ExamplesServer): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/index.html`);
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate((heartbeat) => {
    const w = window as unknown as TabWindow;
    const log: TabLog = {
      confirmed: [],
      chats: [],
      confirmMs: [],
      chatMs: [],
      sentAt: {},
      reconnects: 0,
      closes: [],
      drops: [],
      opens: 0,
    };
    w.log = log;
    // Long polling only, no persistence and no remembered transport: tabs share nothing but the origin.
    w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
      transports: ['longpoll'],
      rememberTransport: false,
      heartbeat,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const client = w.client as RealtimeClient<{ 'lab:received': { n: number }; chat: { text: string } }>;
    client.on('open', () => log.opens++);
    client.on('reconnecting', () => log.reconnects++);
    client.on('close', ({ code }) => log.closes.push(code));
    client.on('state', ({ to, reason }) => {
      if (to === 'reconnecting') log.drops.push(reason);
    });
    client.on('lab:received', ({ n }) => {
      log.confirmed.push(n);
      log.confirmMs.push(Date.now() - (log.sentAt[n] ?? NaN));
    });
    client.on('chat', ({ text }) => {
      const [from, n, at] = text.split(':');
      log.chats.push(`${from}:${n}`);
      log.chatMs.push(Date.now() - Number(at));
    });
  }, HEARTBEAT);
  return { page, errors };
}

const log = (page: Page): Promise<TabLog> => page.evaluate(() => (window as unknown as TabWindow).log);

/** Starts the tab's numbered sends: one 'lab:message' and one chat line every SEND_EVERY_MS. */
function startSending(page: Page, tab: number): Promise<void> {
  return page.evaluate(
    ([me, count, every]) => {
      const { client, log: l } = window as unknown as TabWindow;
      let n = 0;
      const timer = setInterval(() => {
        n++;
        l.sentAt[n] = Date.now();
        client.send('lab:message', { n, text: `tab ${me} message ${n}` });
        client.send('chat', { text: `${me}:${n}:${Date.now()}` });
        if (n === count) clearInterval(timer);
      }, every);
    },
    [tab, MESSAGES, SEND_EVERY_MS] as const,
  );
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
}

/** Longest time a completed long-polling request of the page waited to be sent (for a connection, mostly). */
const stalls = (page: Page): Promise<number> =>
  page.evaluate(() =>
    Math.round(
      Math.max(
        0,
        ...performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/realtime/poll'))
          .map((e) => (e as PerformanceResourceTiming).requestStart - e.startTime),
      ),
    ),
  );

async function run(browser: Chromium, tabs: number): Promise<void> {
  await withExamples(browser, async (server) => {
    await labControl(server, 'refuse-upgrades?on=1');
    const started = Date.now();
    const opened = await Promise.all(Array.from({ length: tabs }, () => openTab(browser, server)));
    const pages = opened.map((o) => o.page);
    const openAt = await Promise.all(
      pages.map((page) =>
        page
          .waitForFunction(() => (window as unknown as TabWindow).client.state === 'open', null, WAIT)
          .then(
            () => Date.now() - started,
            () => -1,
          ),
      ),
    );
    const sendAt = Date.now();
    await Promise.all(pages.map((page, i) => startSending(page, i + 1)));
    const expectedChats = tabs * MESSAGES;
    const done = await Promise.all(
      pages.map((page) =>
        page
          .waitForFunction(
            ([count, chats]) => {
              const l = (window as unknown as TabWindow).log;
              return l.confirmed.length >= count && l.chats.length >= chats;
            },
            [MESSAGES, expectedChats] as const,
            WAIT,
          )
          .then(
            () => Date.now() - sendAt,
            () => -1,
          ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const logs = await Promise.all(pages.map(log));
    const confirm = logs.flatMap((l) => l.confirmMs);
    const chat = logs.flatMap((l) => l.chatMs);
    const stalled = await Promise.all(pages.map(stalls));
    console.log(
      `longpoll, ${tabs} tab(s): open at ${openAt.join(',')} ms; all arrived at ${done.join(',')} ms after the first send; ` +
        `confirm p50 ${percentile(confirm, 50)} p95 ${percentile(confirm, 95)} max ${percentile(confirm, 100)} ms; ` +
        `chat p50 ${percentile(chat, 50)} p95 ${percentile(chat, 95)} max ${percentile(chat, 100)} ms; ` +
        `received ${logs.map((l) => `${l.confirmed.length}/${l.chats.length}`).join(',')}; ` +
        `longest wait for a connection ${stalled.join(',')} ms; ` +
        `reconnects ${logs.map((l) => l.reconnects).join(',')}; closes ${logs.map((l) => l.closes.join('/') || '-').join(',')}; ` +
        `drops ${JSON.stringify(logs.flatMap((l) => l.drops))}; total ${Date.now() - started} ms`,
    );
    const numbers = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    for (const [i, l] of logs.entries()) {
      expect(l.confirmed, `tab ${i + 1}`).toEqual(numbers);
      for (let from = 1; from <= tabs; from++)
        expect(
          l.chats.filter((c) => c.startsWith(`${from}:`)),
          `tab ${i + 1} from ${from}`,
        ).toEqual(numbers.map((n) => `${from}:${n}`));
    }
    const texts = numbers.flatMap((n) => Array.from({ length: tabs }, (_, t) => `tab ${t + 1} message ${n}`));
    expect(await deliveries(server, texts)).toEqual(texts.map(() => 1));
    expect(logs.map((l) => ({ opens: l.opens, reconnects: l.reconnects, closes: l.closes, drops: l.drops }))).toEqual(
      logs.map(() => ({ opens: 1, reconnects: 0, closes: [], drops: [] })),
    );
    expect(opened.flatMap((o) => o.errors)).toEqual([]);
  });
}

describe.skipIf(skipBrowserTests)('many tabs on long polling in Chromium', () => {
  const chromium = useChromium();
  for (const tabs of (process.env.LP_TABS ?? '1,4,8').split(',').map(Number))
    it(`${tabs} tab(s): every message arrives once, in order, in every tab`, () => run(chromium(), tabs), 120_000);
});
