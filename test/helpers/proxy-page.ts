/**
 * The scenarios of a real browser behind a corporate HTTP proxy (test/helpers/http-proxy.ts),
 * shared by Chromium (test/browser/corporate-proxy.test.ts, which says what they prove) and
 * Firefox (test/browser/firefox-proxies.test.ts). Each browser says how a page is put behind a
 * proxy; the pages, the clients and the checks are the same. Times, reconnects and 504s are
 * printed, not asserted.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { sleep } from '../faults/helpers.js';
import { deliveries, startExamples, WAIT } from './browser.js';
import type { HttpProxy, HttpProxyOptions } from './http-proxy.js';
import type { PageDriver, Wait } from './page-driver.js';

const REQUEST_EVERY = 5;
/** How long the proxy waits for an answer before its 504. */
const PROXY_TIMEOUT_MS = 2000;
/** Idle time between the two rounds of messages: several cuts. */
const IDLE_MS = 7000;
/**
 * Bound of the wait for the second round: a client whose connections never live
 * `reconnect.minUptimeMs` backs off towards `maxDelayMs` (30 s).
 */
const AFTER_IDLE = { timeout: 40_000 } as const;
const SHORT_HEARTBEAT = { intervalMs: 1500, timeoutMs: 1500 };

interface ProxyWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient };
  client: RealtimeClient;
  record: PageRecord;
  /** Sends n = from..to with texts `${prefix} n`, every REQUEST_EVERY-th as a request. */
  sendRange(prefix: string, from: number, to: number): void;
}

interface PageRecord {
  t0: number;
  /** Each `open`: transport, resumed, ms since the client was created. */
  opens: { transport: string; resumed: boolean; at: number }[];
  /** Each `close` code, and as text with its time and reason. */
  closeCodes: number[];
  log: string[];
  /** `n` of every 'lab:received' the app got, in order. */
  got: number[];
  replies: number[];
  failures: string[];
}

interface ClientSetup {
  /** The bundle: the full one carries SockJS, without it SockJS fails over to long polling. */
  readonly bundle: 'surelink.full.min.js' | 'surelink.min.js';
  /** The realtime URL; default: the page's origin + /realtime. */
  readonly url?: string;
  readonly heartbeat?: { intervalMs: number; timeoutMs: number };
}

/** Loads `pageUrl` through the proxy, then the bundle and a recording client (default options but `heartbeat`). */
async function startClient(page: PageDriver, pageUrl: string, setup: ClientSetup): Promise<void> {
  await page.goto(pageUrl, WAIT);
  await page.addScript(`/dist/${setup.bundle}`);
  await page.evaluate(
    ({ every, url, heartbeat }) => {
      const w = window as unknown as ProxyWindow;
      const r: PageRecord = { t0: Date.now(), opens: [], closeCodes: [], log: [], got: [], replies: [], failures: [] };
      w.record = r;
      const note = (text: string): void => void r.log.push(`${Date.now() - r.t0} ms: ${text}`);
      const c = new w.Surelink.RealtimeClient(url ?? new URL('/realtime', location.href).href, {
        ...(heartbeat ? { heartbeat } : {}),
      });
      w.client = c;
      c.on('open', ({ transport, resumed }) => {
        r.opens.push({ transport, resumed, at: Date.now() - r.t0 });
        note(`open ${transport} resumed=${String(resumed)}`);
      });
      c.on('close', ({ code, reason }) => {
        r.closeCodes.push(code);
        note(`close ${code} ${reason}`);
      });
      c.on('reconnecting', ({ attempt, delayMs }) => note(`reconnecting #${attempt} in ${Math.round(delayMs)} ms`));
      c.on('error', (e) => note(`${e.name}: ${e.message}`));
      c.on('lab:received', (data) => void r.got.push((data as { n: number }).n));
      w.sendRange = (prefix, from, to) => {
        for (let n = from; n <= to; n++) {
          const data = { n, text: `${prefix} ${n}` };
          if (n % every !== 0) c.send('lab:message', data);
          else
            c.request('lab:request', data, { timeoutMs: 60_000 }).then(
              (reply) => void r.replies.push((reply as { n: number }).n),
              (error: Error) => void r.failures.push(`request ${n}: ${error.name}: ${error.message}`),
            );
        }
      };
    },
    { every: REQUEST_EVERY, url: setup.url, heartbeat: setup.heartbeat },
  );
  await page.waitFor(() => (window as unknown as ProxyWindow).client.state === 'open', WAIT);
}

/** Sends from..to; waits until the page got every confirmation and reply; returns how long that took. */
async function exchange(
  page: PageDriver,
  prefix: string,
  from: number,
  to: number,
  wait: Wait = WAIT,
): Promise<number> {
  const start = Date.now();
  await page.evaluate(([p, a, b]) => (window as unknown as ProxyWindow).sendRange(p, a, b), [
    prefix,
    from,
    to,
  ] as const);
  await page.waitFor(
    ([a, b, every]) => {
      const r = (window as unknown as ProxyWindow).record;
      for (let n = a; n <= b; n++) if (!r.got.includes(n)) return false;
      return r.replies.includes(b - (b % every));
    },
    { polling: 100, ...wait },
    [from, to, REQUEST_EVERY] as const,
  );
  return Date.now() - start;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const once = (count: number): number[] => range(1, count).map(() => 1);
const record = (page: PageDriver): Promise<PageRecord> =>
  page.evaluate(() => (window as unknown as ProxyWindow).record);
const transportOf = (page: PageDriver): Promise<string | null> =>
  page.evaluate(() => (window as unknown as ProxyWindow).client.transport);

/**
 * Two rounds of 10 messages (every fifth a request) with `IDLE_MS` between them; checks that
 * each went once each way and in order, that every reopen resumed, and that no heartbeat fired.
 * Returns what to print.
 */
async function twoRounds(
  page: PageDriver,
  proxy: HttpProxy,
  prefix: string,
  atServer: (texts: string[]) => Promise<number[]>,
): Promise<string> {
  const first = await exchange(page, prefix, 1, 10);
  await sleep(IDLE_MS);
  const second = await exchange(page, prefix, 11, 20, AFTER_IDLE);
  const r = await record(page);
  const transport = await transportOf(page);
  const counts = await atServer(range(1, 20).map((n) => `${prefix} ${n}`));
  expect(counts).toEqual(once(20));
  expect(r.got).toEqual(range(1, 20));
  expect(r.replies.sort((a, b) => a - b)).toEqual([5, 10, 15, 20]);
  expect(r.failures).toEqual([]);
  expect(r.opens.slice(1).filter((o) => !o.resumed)).toEqual([]);
  expect(r.closeCodes.filter((code) => code === 4000)).toEqual([]); // no heartbeat close
  return (
    `${prefix}: first open on ${r.opens[0]?.transport} after ${r.opens[0]?.at} ms, now on ${transport}; ` +
    `${r.opens.length} opens; round 1 took ${first} ms, round 2 (after ${IDLE_MS} ms idle) ${second} ms; ` +
    `proxy: ${proxy.requests} requests (${proxy.count('/realtime/sockjs')} sockjs, ${proxy.count('/realtime/poll')} poll), ` +
    `${proxy.timeouts} cut with 504, ${proxy.connectsRefused} CONNECTs refused\n  ${r.log.join('\n  ')}`
  );
}

/** Runs `body` on a page of the browser under test whose every request goes through a new proxy with `options`; stops both after. */
export type BehindProxy = (
  options: HttpProxyOptions,
  body: (page: PageDriver, proxy: HttpProxy) => Promise<void>,
) => Promise<void>;

/** Every corporate-proxy scenario, in the browser `behindProxy` drives (`browser` names it in the logs). */
export function proxyCases(browser: string, behindProxy: BehindProxy): void {
  // Behind latency, SockJS's search through its streaming transports (each given a few round
  // trips) outlasts connectTimeoutMs, and the client goes on to long polling.
  for (const latencyMs of [0, 150]) {
    it(`${latencyMs} ms away: falls back past the refused CONNECT and the buffered streams, and delivers exactly once`, async () => {
      const server = await startExamples();
      try {
        await behindProxy({ latencyMs }, async (page, proxy) => {
          await startClient(page, `${server.url}/index.html`, { bundle: 'surelink.full.min.js' });
          const prefix = `plain ${latencyMs}`;
          const tookMs = await exchange(page, prefix, 1, 20);
          const r = await record(page);
          const transport = await transportOf(page);
          console.log(
            `${browser}, ${prefix}: open on ${transport} after ${r.opens[0]?.at} ms, 20 messages in ${tookMs} ms; ` +
              `proxy: ${proxy.requests} requests (${proxy.count('/realtime/sockjs')} sockjs), ` +
              `${proxy.connectsRefused} CONNECTs (${[...new Set(proxy.connectTargets)].join(', ')}) and ${proxy.upgradesRefused} upgrades refused\n  ${r.log.join('\n  ')}`,
          );
          // Everything went through the proxy: the page, the bundle, the fallback's requests.
          expect(proxy.count('/index.html')).toBe(1);
          expect(proxy.count('/dist/')).toBe(1);
          expect(proxy.count('/realtime/sockjs')).toBeGreaterThan(0);
          // WebSocket was tried: both browsers tunnel it through CONNECT, to the server.
          expect(proxy.connectTargets).toContain(new URL(server.url).host);
          // SockJS's polling, or long polling once SockJS's search outlasted connectTimeoutMs.
          expect(['sockjs', 'longpoll']).toContain(transport);
          expect(r.opens).toHaveLength(1);
          expect(
            await deliveries(
              server,
              range(1, 20).map((n) => `${prefix} ${n}`),
            ),
          ).toEqual(once(20));
          expect(r.got).toEqual(range(1, 20));
          expect(r.replies.sort((a, b) => a - b)).toEqual([5, 10, 15, 20]);
          expect(r.failures).toEqual([]);
        });
      } finally {
        await server.close();
      }
    }, 30_000);
  }

  // SockJS with the default heartbeat (20 s): any frame completes a SockJS poll, so a heartbeat
  // shorter than the proxy's timeout would hide the cuts. Long polling with a short one: its pongs
  // come in POST responses, the held GET is cut all the same, and the heartbeat must not misfire.
  for (const [bundle, name, heartbeat] of [
    ['surelink.full.min.js', 'on SockJS', undefined],
    ['surelink.min.js', 'on long polling (no SockJS in the bundle), heartbeat 1.5 s + 1.5 s', SHORT_HEARTBEAT],
  ] as const) {
    it(`${name}: survives a proxy that cuts held requests after 2 s, without loss, duplicates or heartbeat closes`, async () => {
      const server = await startExamples();
      try {
        await behindProxy({ readTimeoutMs: PROXY_TIMEOUT_MS }, async (page, proxy) => {
          await startClient(page, `${server.url}/index.html`, { bundle, ...(heartbeat ? { heartbeat } : {}) });
          const report = await twoRounds(page, proxy, `cut ${bundle}`, (texts) => deliveries(server, texts));
          console.log(`${browser}, ${report}`);
          expect(proxy.timeouts).toBeGreaterThan(0); // the proxy did cut held requests
        });
      } finally {
        await server.close();
      }
    }, 70_000);
  }

  // A proxy that does let WebSocket through its CONNECT tunnels, and then breaks them: first it
  // resets every open tunnel (the browser sees its socket fail), then it stops forwarding and leaves
  // them open (a half-open link that only the heartbeat can find), each with messages in flight.
  it('lets WebSocket through its tunnels; a tunnel reset and a tunnel gone silent lose nothing', async () => {
    const server = await startExamples();
    try {
      await behindProxy({ tunnels: true }, async (page, proxy) => {
        await startClient(page, `${server.url}/index.html`, {
          bundle: 'surelink.full.min.js',
          heartbeat: SHORT_HEARTBEAT,
        });
        expect(await transportOf(page)).toBe('websocket');
        const prefix = 'tunnel';
        await exchange(page, prefix, 1, 10);
        expect(proxy.cutTunnels('reset')).toBeGreaterThan(0);
        const afterReset = await exchange(page, prefix, 11, 20, AFTER_IDLE);
        expect(proxy.cutTunnels('silence')).toBeGreaterThan(0);
        const afterSilence = await exchange(page, prefix, 21, 30, AFTER_IDLE);
        const r = await record(page);
        console.log(
          `${browser}, tunnels: ${r.opens.length} opens, 10 messages after the reset in ${afterReset} ms, ` +
            `after the silence in ${afterSilence} ms; proxy: ${proxy.tunnelsOpened} tunnels opened, ` +
            `${proxy.requests} requests\n  ${r.log.join('\n  ')}`,
        );
        expect(
          await deliveries(
            server,
            range(1, 30).map((n) => `${prefix} ${n}`),
          ),
        ).toEqual(once(30));
        expect(r.got).toEqual(range(1, 30));
        expect(r.replies.sort((a, b) => a - b)).toEqual([5, 10, 15, 20, 25, 30]);
        expect(r.failures).toEqual([]);
        // One session on WebSocket throughout, through a new tunnel after each cut.
        expect(r.opens.map((o) => o.transport)).toEqual(r.opens.map(() => 'websocket'));
        expect(r.opens.slice(1).filter((o) => !o.resumed)).toEqual([]);
        expect(r.opens.length).toBeGreaterThanOrEqual(3);
        expect(proxy.tunnelsOpened).toBeGreaterThanOrEqual(3);
        // Nothing but the heartbeat could tell the silent tunnel was dead.
        expect(r.closeCodes).toContain(4000);
        expect(page.uncaught).toEqual([]);
      });
    } finally {
      await server.close();
    }
  }, 70_000);

  it('with longPoll.pollTimeoutMs below the proxy timeout, long polling is not cut', async () => {
    const pages = await startExamples(); // the page and the bundle
    const http = createServer();
    const realtime = createRealtimeServer({ server: http, path: '/realtime', longPoll: { pollTimeoutMs: 1000 } });
    const log: string[] = [];
    realtime.handle('lab:request', (data, session) => {
      const { n, text } = data as { n: number; text: string };
      log.push(text);
      session.send('lab:received', { n });
      return { n };
    });
    realtime.on('connection', (session) =>
      session.on('lab:message', (data) => {
        const { n, text } = data as { n: number; text: string };
        log.push(text);
        session.send('lab:received', { n });
      }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      await behindProxy({ readTimeoutMs: PROXY_TIMEOUT_MS }, async (page, proxy) => {
        const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/realtime`;
        await startClient(page, `${pages.url}/index.html`, {
          bundle: 'surelink.min.js',
          url,
          heartbeat: SHORT_HEARTBEAT,
        });
        const report = await twoRounds(page, proxy, 'short hold', async (texts) =>
          texts.map((t) => log.filter((l) => l === t).length),
        );
        console.log(`${browser}, ${report}`);
      });
    } finally {
      await realtime.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await pages.close();
    }
  }, 40_000);
}
