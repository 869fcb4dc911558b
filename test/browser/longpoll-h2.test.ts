// Many tabs on long polling over HTTPS in real Chromium: HTTP/1.1 against HTTP/2 (README, "Many
// tabs on long polling"). Over HTTP/1.1 a browser opens at most 6 connections per host, so with 8
// tabs each holding a GET, 2 GETs wait for a connection; over HTTP/2 every request is a stream on
// one connection. The server is `createRealtimeServer` attached to `https.createServer` or to
// `http2.createSecureServer({ allowHTTP1: true })`, with a throwaway self-signed certificate. It
// pushes timestamped events to one session at a time; each tab records push -> arrival, and the
// protocol its requests used (`nextHopProtocol`). Also: SockJS's XHR streaming over HTTP/2.
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import { CHROMIUM_ARGS } from '../../scripts/chromium.mjs';
import type { createSockJSTransport, RealtimeClient } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { CHROMIUM_PATH, skipBrowserTests, WAIT } from '../helpers/browser.js';
import { selfSignedCert } from '../helpers/tls.js';

const TABS = 8;
/** Events pushed to each tab, in a row, PUSH_EVERY_MS apart, one tab after the other. */
const ROUNDS = 2;
const PUSH_EVERY_MS = 500;
/** The server's long-poll hold (25 s by default): what a waiting GET may wait for at most, about. */
const POLL_TIMEOUT_MS = 3_000;
// The build with sockjs-client in it, for the SockJS case.
const BUNDLE = readFileSync(new URL('../../dist/surelink.full.min.js', import.meta.url), 'utf8');
const PAGE = '<!doctype html><meta charset="utf-8"><title>h2</title><script src="/surelink.min.js"></script>';

interface TabWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient; createSockJSTransport: typeof createSockJSTransport };
  client: RealtimeClient<{ tick: { n: number; at: number } }>;
  ticks: number[];
  latencies: number[];
  reconnects: number;
}

type Serve = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

const servePage: Serve = (req, res) => {
  const bundle = req.url === '/surelink.min.js';
  res.writeHead(200, { 'Content-Type': bundle ? 'text/javascript' : 'text/html' });
  res.end(bundle ? BUNDLE : PAGE);
};

async function start(h2: boolean) {
  const tls = selfSignedCert();
  const http = h2
    ? createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, servePage)
    : createHttpsServer({ key: tls.key, cert: tls.cert }, servePage);
  const rt = createRealtimeServer<object, { tick: { n: number; at: number } }>({
    server: http as unknown as Server,
    // Bounds the test: over HTTP/1.1 the last tabs' pushes can wait for a held GET's timeout.
    longPoll: { pollTimeoutMs: POLL_TIMEOUT_MS },
  });
  let held = 0;
  let maxHeld = 0;
  /** The long-poll GETs under way; one is held until the server ends its response. */
  const polls = new Set<ServerResponse | Http2ServerResponse>();
  let connections = 0;
  http.on('secureConnection', () => connections++);
  http.prependListener(
    'request',
    (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/realtime/poll')) return;
      maxHeld = Math.max(maxHeld, ++held);
      polls.add(res);
      res.on('close', () => (held--, polls.delete(res)));
    },
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    rt,
    counts: () => ({ maxHeld, connections }),
    /** Long-poll GETs the server holds now: not yet answered (a closing one may still be counted in `held`). */
    held: () => [...polls].filter((res) => !res.writableEnded).length,
    async stop() {
      await rt.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        if ('closeAllConnections' in http) http.closeAllConnections();
      });
    },
  };
}

async function openTab(page: Page, url: string, sockjs: boolean): Promise<void> {
  await page.goto(`${url}/`);
  await page.evaluate((sockjs) => {
    const w = window as unknown as TabWindow;
    w.ticks = [];
    w.latencies = [];
    w.reconnects = 0;
    w.client = new w.Surelink.RealtimeClient(new URL('/realtime', location.href).href, {
      // SockJS with its XHR streaming only: the one of its transports that rides on HTTP/2.
      transports: [sockjs ? w.Surelink.createSockJSTransport({ transports: ['xhr-streaming'] }) : 'longpoll'],
      rememberTransport: false,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    w.client.on('reconnecting', () => w.reconnects++);
    w.client.on('tick', ({ n, at }) => {
      w.ticks.push(n);
      w.latencies.push(Date.now() - at);
    });
  }, sockjs);
}

interface TabResult {
  ticks: number[];
  latencies: number[];
  reconnects: number;
  protocols: string[];
}

/** `tabs` tabs on long polling (or SockJS's XHR streaming), pushed to one at a time. */
async function run(h2: boolean, tabCount = TABS, sockjs = false): Promise<TabResult[]> {
  const server = await start(h2);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true });
  try {
    // One context: the tabs share the per-host connection limit, as tabs of one profile do.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const pages = await Promise.all(Array.from({ length: tabCount }, () => context.newPage()));
    await Promise.all(pages.map((page) => openTab(page, server.url, sockjs)));
    await Promise.all(
      pages.map((page) =>
        page.waitForFunction(() => (window as unknown as TabWindow).client.state === 'open', null, WAIT),
      ),
    );
    // Let every tab's first GET settle in (held) before the pushes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Over HTTP/2 each push waits until every tab's GET is held (TABS of them at once: HTTP/1.1
    // gives a host 6 connections), so no push can wait for another tab's GET to be answered; the
    // wait fails the test if they never are. Over HTTP/1.1 the pushes keep to their pace.
    const allHeld =
      h2 && !sockjs
        ? () => vi.waitFor(() => expect(server.held(), 'GETs held').toBe(tabCount), { ...WAIT, interval: 10 })
        : undefined;
    // To one tab at a time, twice in a row. Not a broadcast: that answers every held GET at once,
    // which frees connections for the waiting GETs at that very moment and hides their wait. Nor
    // one push per tab in turn: the waiting GETs get connections first come, first served, so a
    // round-robin always finds its tab's GET held. After the first push the tab's next GET is the
    // newest, so over HTTP/1.1 with more than 6 tabs it waits for a connection when the second comes.
    const sessions = [...server.rt.sessions.values()];
    expect(sessions).toHaveLength(tabCount);
    for (const session of sessions)
      for (let n = 1; n <= ROUNDS; n++) {
        await allHeld?.();
        session.send('tick', { n, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, PUSH_EVERY_MS));
      }
    await Promise.all(
      pages.map((page) =>
        page
          .waitForFunction((count) => (window as unknown as TabWindow).ticks.length >= count, ROUNDS, WAIT)
          .catch(() => undefined),
      ),
    );
    return await Promise.all(
      pages.map((page) =>
        page.evaluate(() => {
          const w = window as unknown as TabWindow;
          const protocols = performance
            .getEntriesByType('resource')
            .filter((e) => e.name.includes('/realtime/'))
            .map((e) => (e as PerformanceResourceTiming).nextHopProtocol);
          return {
            ticks: w.ticks,
            latencies: w.latencies,
            reconnects: w.reconnects,
            protocols: [...new Set(protocols)],
          };
        }),
      ),
    );
  } finally {
    console.log(`${h2 ? 'HTTP/2' : 'HTTP/1.1'} server: ${JSON.stringify(server.counts())}`);
    await browser.close();
    await server.stop();
  }
}

function report(label: string, tabs: TabResult[]): void {
  const max = tabs.map((t) => Math.max(...t.latencies));
  const all = tabs.flatMap((t) => t.latencies).sort((a, b) => a - b);
  console.log(
    `${label}, ${tabs.length} tabs: protocols ${JSON.stringify(tabs.map((t) => t.protocols))}; ` +
      `push -> arrival max per tab ${max.join(',')} ms; p50 ${all[Math.floor(all.length / 2)]} ms; ` +
      `received ${tabs.map((t) => t.ticks.length).join(',')}; reconnects ${tabs.map((t) => t.reconnects).join(',')}`,
  );
}

describe.skipIf(skipBrowserTests)('many tabs on long polling over HTTPS in Chromium', () => {
  it(`HTTP/1.1: ${TABS} tabs get every push, some of them late`, async () => {
    const tabs = await run(false);
    report('HTTP/1.1', tabs);
    const numbers = Array.from({ length: ROUNDS }, (_, i) => i + 1);
    for (const t of tabs) expect(t.ticks).toEqual(numbers);
    for (const t of tabs) expect(t.protocols).toEqual(['http/1.1']);
    // The premise of the README's advice: a push to a tab whose GET waits for a connection
    // arrives when another tab's GET is answered (here: the next push, PUSH_EVERY_MS later).
    expect(Math.max(...tabs.flatMap((t) => t.latencies))).toBeGreaterThanOrEqual(PUSH_EVERY_MS * 0.8);
  });

  it(`HTTP/2: ${TABS} tabs get every push promptly`, async () => {
    const tabs = await run(true);
    report('HTTP/2', tabs);
    const numbers = Array.from({ length: ROUNDS }, (_, i) => i + 1);
    for (const t of tabs) expect(t.ticks).toEqual(numbers);
    for (const t of tabs) expect(t.protocols).toEqual(['h2']);
    // Every push went out with all TABS tabs' GETs held at once (run() waits for that before each):
    // none waits for another to be answered, so each is written to its tab's held GET at once.
    for (const t of tabs) expect(t.reconnects).toBe(0);
  });

  it('HTTP/2: SockJS over XHR streaming works too', async () => {
    const tabs = await run(true, 2, true);
    report('HTTP/2, SockJS xhr-streaming', tabs);
    for (const t of tabs) expect(t.ticks).toEqual([1, 2]);
    for (const t of tabs) expect(t.protocols).toEqual(['h2']);
    for (const t of tabs) expect(t.reconnects).toBe(0);
  });
});
