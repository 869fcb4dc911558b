/**
 * The scenarios of a real browser behind a real nginx (test/helpers/nginx.ts), shared by Chromium
 * (test/browser/nginx.test.ts, which says what they prove) and Firefox
 * (test/browser/firefox-proxies.test.ts): nginx serves the page (examples/index.html, which opens
 * no client of its own) and the bundle (dist/surelink.full.min.js) from disk and proxies every other
 * path, /realtime included, to a surelink server. Times are printed, not asserted.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ClientOptions, createSockJSTransport, RealtimeClient, TransportName } from '../../src/index.js';
import { createRealtimeServer } from '../../src/server/index.js';
import type { ServerSession } from '../../src/server/types.js';
import { WAIT } from './browser.js';
import { until } from './harness.js';
import { startNginx, type Nginx, type NginxConfig } from './nginx.js';
import type { PageDriver } from './page-driver.js';

type Events = { n: { i: number } };

const FILES = {
  '/examples/': fileURLToPath(new URL('../../examples/', import.meta.url)),
  '/dist/': fileURLToPath(new URL('../../dist/', import.meta.url)),
};

/** The surelink server behind nginx: what it received, on how many sessions. */
interface Upstream {
  readonly port: number;
  /** The `n` events received, in order, over every session. */
  readonly received: number[];
  readonly sessions: ServerSession<Events, Events>[];
  /** Sends `n` `from..to` to the latest session. */
  send(from: number, to: number): void;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  // Paths nginx does not serve itself (the page's /style.css) come here: answer them, as an app would.
  const http = createServer((_req, res) => res.writeHead(404).end());
  const rt = createRealtimeServer<Events, Events>({ server: http });
  const received: number[] = [];
  const sessions: ServerSession<Events, Events>[] = [];
  rt.on('connection', (session) => {
    sessions.push(session);
    session.on('n', ({ i }) => received.push(i));
  });
  rt.handle('add', (data) => (data as number[]).reduce((a, b) => a + b, 0));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    received,
    sessions,
    send(from, to) {
      for (let i = from; i <= to; i++) sessions.at(-1)?.send('n', { i });
    },
    async close() {
      await rt.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

interface PageRecord {
  /** Each `open`, with ms since the client was created. */
  opens: { transport: string; resumed: boolean; at: number }[];
  /** `n` of each event received, in order. */
  got: number[];
  errors: { message: string; at: number }[];
  log: string[];
}

interface NginxWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient; createSockJSTransport: typeof createSockJSTransport };
  client: RealtimeClient<Events, Events>;
  record: PageRecord;
}

/**
 * Serializable client options for the page; `sockjs`: SockJS alone, with only these of
 * sockjs-client's transports (`createSockJSTransport`).
 */
type PageOptions = Pick<ClientOptions, 'upgrade' | 'reconnect'> & {
  readonly transports?: readonly TransportName[];
  readonly sockjs?: readonly string[];
};

/** Opens a new page in the browser under test. */
export type OpenPage = () => Promise<PageDriver>;

/**
 * One test's setup: a server, nginx in front of it with `config`, a page loaded through nginx
 * with a recording client made with `options`; all stopped after `body`, whatever happens.
 */
async function behindNginx(
  openPage: OpenPage,
  config: Omit<NginxConfig, 'upstreams' | 'files'>,
  options: PageOptions,
  body: (page: PageDriver, up: Upstream, proxy: Nginx) => Promise<void>,
): Promise<void> {
  const up = await startUpstream();
  try {
    const proxy = await startNginx({ ...config, upstreams: [up.port], files: FILES });
    try {
      const page = await openPage();
      try {
        await page.goto(`${proxy.origin}/examples/index.html`, WAIT);
        await page.addScript('/dist/surelink.full.min.js');
        await page.evaluate(({ sockjs, ...opts }) => {
          const w = window as unknown as NginxWindow;
          // The profile outlives the test, and a later nginx may get this port again: no transport
          // remembered from an earlier test on this origin.
          localStorage.clear();
          const t0 = performance.now();
          const at = (): number => Math.round(performance.now() - t0);
          const r: PageRecord = { opens: [], got: [], errors: [], log: [] };
          w.record = r;
          const c = new w.Surelink.RealtimeClient<Events, Events>(new URL('/realtime', location.href).href, {
            ...opts,
            ...(sockjs ? { transports: [w.Surelink.createSockJSTransport({ transports: sockjs })] } : {}),
          });
          w.client = c;
          c.on('open', ({ transport, resumed }) => {
            r.opens.push({ transport, resumed, at: at() });
            r.log.push(`${at()} ms open ${transport} resumed=${String(resumed)}`);
          });
          c.on('close', ({ code, reason }) => void r.log.push(`${at()} ms close ${code} ${reason}`));
          c.on('transport', ({ from, to }) => void r.log.push(`${at()} ms transport ${from} -> ${to}`));
          c.on('error', (e) => {
            r.errors.push({ message: `${e.name}: ${e.message}`, at: at() });
            r.log.push(`${at()} ms ${e.name}: ${e.message}`);
          });
          c.on('n', ({ i }) => void r.got.push(i));
        }, options);
        await body(page, up, proxy);
      } finally {
        await page.evaluate(() => (window as unknown as NginxWindow).client?.close()).catch(() => undefined);
        await page.close();
      }
    } finally {
      await proxy.stop();
    }
  } finally {
    await up.close();
  }
}

const record = (page: PageDriver): Promise<PageRecord> =>
  page.evaluate(() => (window as unknown as NginxWindow).record);
const transportOf = (page: PageDriver): Promise<string | null> =>
  page.evaluate(() => (window as unknown as NginxWindow).client.transport);
const waitOpen = (page: PageDriver): Promise<void> =>
  page.waitFor(() => (window as unknown as NginxWindow).client.state === 'open', WAIT);

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** Sends `from..to` each way (the server to its latest session); waits until both sides have them all. */
async function exchange(page: PageDriver, up: Upstream, from: number, to: number): Promise<void> {
  await page.evaluate(
    ([a, b]) => {
      const c = (window as unknown as NginxWindow).client;
      for (let i = a; i <= b; i++) c.send('n', { i });
    },
    [from, to] as const,
  );
  up.send(from, to);
  await page.waitFor((b) => (window as unknown as NginxWindow).record.got.length >= b, WAIT, to);
  await until(() => up.received.length >= to, WAIT.timeout);
}

const add = (page: PageDriver, terms: number[]): Promise<number> =>
  page.evaluate((t) => (window as unknown as NginxWindow).client.request('add', t, { timeoutMs: 10_000 }), terms);

/**
 * Exchanges 1..10, restarts nginx, exchanges 11..20 at once (queued on both sides while the client
 * is away), waits for the resumed open and for `back` as the transport, then exchanges
 * 21..30; checks that each went once each way, in order, on one session. Returns what to print.
 */
async function acrossRestart(page: PageDriver, up: Upstream, proxy: Nginx, back: string): Promise<string> {
  await exchange(page, up, 1, 10);
  expect(await add(page, [1, 2, 3])).toBe(6);
  const opensBefore = (await record(page)).opens.length;
  const restartedAt = Date.now();
  await proxy.restart();
  await exchange(page, up, 11, 20);
  await page.waitFor((n) => (window as unknown as NginxWindow).record.opens.length > n, WAIT, opensBefore);
  const resumedMs = Date.now() - restartedAt;
  await page
    .waitFor((t) => (window as unknown as NginxWindow).client.transport === t, WAIT, back)
    .catch(
      // Says where the client went instead, and how: the page's record is lost with the page.
      async (error: unknown) => {
        const log = (await record(page)).log.join('\n  ');
        throw new Error(`not back on ${back} but on ${await transportOf(page)}: ${String(error)}\n  ${log}`);
      },
    );
  await exchange(page, up, 21, 30);
  expect(await add(page, [4, 5])).toBe(9);
  const r = await record(page);
  expect(r.got).toEqual(range(1, 30));
  expect(up.received).toEqual(range(1, 30));
  expect(up.sessions).toHaveLength(1);
  expect(r.opens.slice(1).filter((o) => !o.resumed)).toEqual([]);
  return `restart -> first message each way and resumed open in ${resumedMs} ms, ${r.opens.length - 1} reopen(s)`;
}

const WITH_UPGRADE = { upgrade: true } as const;
const WITHOUT_UPGRADE = { upgrade: false } as const;

/** Every nginx scenario, run in the browser whose pages `openPage` opens (`browser` names it in the logs). */
export function describeNginxCases(browser: string, openPage: OpenPage): void {
  describe('recommended config: proxy_http_version 1.1 with Upgrade and Connection', () => {
    it.each([
      ['default order', 'websocket', {}],
      ['websocket', 'websocket', { transports: ['websocket'] }],
      ['sockjs', 'sockjs', { transports: ['sockjs'] }],
      ['longpoll', 'longpoll', { transports: ['longpoll'] }],
    ] as const)(
      '%s: opens on %s, numbered messages both ways exactly once across an nginx restart',
      async (name, expected, transports) => {
        // While nginx is down the default order may walk down the chain and resume on a fallback:
        // a short upgrade delay brings it back to WebSocket within the test.
        const options: PageOptions = { ...transports, upgrade: { initialDelayMs: 300 } };
        await behindNginx(openPage, WITH_UPGRADE, options, async (page, up, proxy) => {
          await waitOpen(page);
          const first = (await record(page)).opens[0];
          expect(first).toMatchObject({ transport: expected, resumed: false });
          const restart = await acrossRestart(page, up, proxy, expected);
          const r = await record(page);
          console.log(
            `${browser} behind nginx, ${name}: open on ${first?.transport} after ${first?.at} ms; ${restart}\n  ` +
              r.log.join('\n  '),
          );
          expect(page.uncaught).toEqual([]);
        });
      },
    );
  });

  describe('plain proxy_pass: no Upgrade headers (the server answers the handshake 426)', () => {
    it.each([
      ['default order', {}],
      ['sockjs', { transports: ['sockjs'] }],
      ['longpoll', { transports: ['longpoll'] }],
      // SockJS left out of the order (as the script-tag bundle without it does): long polling.
      ['websocket then longpoll', { transports: ['websocket', 'longpoll'] }],
      // nginx buffers proxied responses: the server turns that off for SockJS's streams, else none
      // of them got through (these never opened, and SockJS alone took 1.3 s to get to polling).
      ['sockjs, xhr-streaming only', { sockjs: ['xhr-streaming'] }],
      ['sockjs, eventsource only', { sockjs: ['eventsource'] }],
    ] as const)('%s: ends on a working fallback, exactly once across an nginx restart', async (name, transports) => {
      // While nginx is down an attempt may walk on from SockJS to long polling: a short upgrade delay
      // brings it back to SockJS (a probe tries WebSocket, refused, then SockJS) within the test.
      const options: PageOptions = { ...transports, upgrade: { initialDelayMs: 300 } };
      await behindNginx(openPage, WITHOUT_UPGRADE, options, async (page, up, proxy) => {
        await waitOpen(page);
        const first = (await record(page)).opens[0];
        const fellBackTo = await transportOf(page);
        expect(fellBackTo).toMatch(/^(sockjs|longpoll)$/);
        const restart = await acrossRestart(page, up, proxy, String(fellBackTo));
        const r = await record(page);
        console.log(
          `${browser} behind nginx without Upgrade, ${name}: open on ${first?.transport} after ${first?.at} ms; ` +
            `${restart}\n  ${r.log.join('\n  ')}`,
        );
        expect(page.uncaught).toEqual([]);
      });
    });

    it('websocket forced: fails at once with an error, not after its connect timeout', async () => {
      const options: PageOptions = { transports: ['websocket'], reconnect: false };
      await behindNginx(openPage, WITHOUT_UPGRADE, options, async (page, up) => {
        await page.waitFor(() => (window as unknown as NginxWindow).record.errors.length > 0, WAIT);
        const r = await record(page);
        console.log(
          `${browser} behind nginx without Upgrade, websocket forced: ${r.errors[0]?.message} after ${r.errors[0]?.at} ms`,
        );
        expect(r.errors[0]?.message).toMatch(/^TransportError: websocket/); // not a ConnectTimeoutError
        expect(r.opens).toEqual([]);
        expect(up.sessions).toEqual([]);
        expect(page.uncaught).toEqual([]);
      });
    });
  });
}
