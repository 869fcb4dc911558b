// A single-page app that creates and closes clients, in real Chromium: after many clients on every
// transport, with and without a session store, through requests, waitFor, streams, pings,
// heartbeats, cut links, offline spells and reconnects, and closed in every state (idle,
// connecting, open, reconnecting or paused), the page is back where it started. Counted, never timed:
// - listeners on window and document (CDP DOMDebugger.getEventListeners), and on an AbortSignal
//   the app passes to every request, waitFor and stream;
// - live timers (setTimeout/setInterval wrapped by an init script: a timeout that fired is gone);
// - WebSockets not CLOSED, fetches and XHRs in flight (wrapped likewise), and requests to the
//   realtime endpoint the network layer still has open (CDP Network);
// - Web Locks held or pending, and IndexedDB connections open (a store per client, as its example
//   has it: each used to stay open after its client closed);
// - at the server, TCP connections to the examples server (node:diagnostics_channel): none once the
//   idle keep-alive ones time out.
// Heap usage after a forced GC is measured and printed, not asserted.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { CDPSession, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { ClientOptions, indexedDBStore, RealtimeClient, webStorageStore } from '../../src/index.js';
import {
  collectPageErrors,
  labControl,
  skipBrowserTests,
  useChromium,
  WAIT,
  withExamples,
  type ExamplesServer,
} from '../helpers/browser.js';

/** Clients per case; created in waves of `wave` at a time (see CASES). */
const N = 20;

type Store = 'none' | 'webStorage' | 'indexedDB';

interface Case {
  readonly name: string;
  /** JSON-safe: the page builds the client from them. */
  readonly options: Pick<ClientOptions, 'transports' | 'upgrade'>;
  /** WebSocket upgrades answered 403 at the server (the lab's proxy that blocks WebSocket). */
  readonly refuseUpgrades: boolean;
  readonly transport: string;
  /**
   * Clients open at once. HTTP transports hold a request each (a long poll, an XHR stream) and
   * Chromium opens 6 HTTP/1.1 connections per host: more would wait for each other.
   */
  readonly wave: number;
  /** What each open client holds in the page: a WebSocket, an XHR stream, a held fetch. */
  readonly carrier: 'sockets' | 'xhrs' | 'fetches';
}

/** The page's counts now, and as they were before any client. */
interface Probe {
  counts(): Promise<Counts>;
  readonly baseline: Counts;
}

const CASES: readonly Case[] = [
  // Five at a time: Chromium throttles WebSocket opens to one host once ten or so are pending (18
  // at once take seconds), which would outlast the connect timeout again and again.
  {
    name: 'websocket',
    options: { transports: ['websocket'] },
    refuseUpgrades: false,
    transport: 'websocket',
    wave: 5,
    carrier: 'sockets',
  },
  // WebSocket refused: the fallback to SockJS (xhr-streaming), with the upgrade probe failing again and again.
  {
    name: 'fallback',
    options: { upgrade: { initialDelayMs: 100, maxDelayMs: 200 } },
    refuseUpgrades: true,
    transport: 'sockjs',
    wave: 3,
    carrier: 'xhrs',
  },
  {
    name: 'sockjs',
    options: { transports: ['sockjs'] },
    refuseUpgrades: false,
    transport: 'sockjs',
    wave: 3,
    carrier: 'sockets',
  },
  {
    name: 'longpoll',
    options: { transports: ['longpoll'] },
    refuseUpgrades: false,
    transport: 'longpoll',
    wave: 3,
    carrier: 'fetches',
  },
];
const STORES: readonly Store[] = ['none', 'webStorage', 'indexedDB'];

/** What the page holds that a closed client could have left behind. */
interface Counts {
  /** `target type` -> listeners, from CDP. */
  readonly listeners: Record<string, number>;
  /** Live timers, each as the stack that started it (for the failure message). */
  readonly timers: readonly string[];
  readonly sockets: number;
  readonly fetches: number;
  readonly xhrs: number;
  /** Requests to /realtime the network layer has not finished (CDP Network), by URL. */
  readonly network: readonly string[];
  readonly locks: number;
  /** IndexedDB connections opened and not closed. */
  readonly databases: number;
}

interface Tracked {
  timers: Map<number, string>;
  sockets: Set<WebSocket>;
  fetches: number;
  xhrs: Set<XMLHttpRequest>;
  databases: Set<IDBDatabase>;
}

interface LeakWindow {
  Surelink: {
    RealtimeClient: typeof RealtimeClient;
    webStorageStore: typeof webStorageStore;
    indexedDBStore: typeof indexedDBStore;
  };
  tracked: Tracked;
  /** Passed to every request, waitFor and stream, never aborted: its listeners must come and go. */
  appSignal: AbortSignal;
  wave: WaveClient[];
  /** Settles once every client of the wave lost its link (`armClose`). */
  dropped: Promise<unknown>;
  /** Why a wave's client failed (anything but the rejections `close()` promises). */
  failures: string[];
}

interface WaveClient {
  readonly client: RealtimeClient;
  /** How the waitFor and the stream pending since `startWave` ended: the error's name, or `returned`. */
  readonly ended: Promise<string[]>;
}

/** Wraps the page's timers, WebSocket, fetch and XMLHttpRequest before any script runs. */
function instrument(): void {
  const w = window as unknown as LeakWindow;
  const tracked: Tracked = { timers: new Map(), sockets: new Set(), fetches: 0, xhrs: new Set(), databases: new Set() };
  w.tracked = tracked;
  const origin = (): string => (new Error().stack ?? '').split('\n').slice(3, 7).join(' <- ');
  // The page's timer functions, as the DOM types them (this file also sees Node's).
  type Start = (handler: TimerHandler, ms?: number, ...args: unknown[]) => number;
  type Clear = (id?: number) => void;
  const timers = window as unknown as Record<'setTimeout' | 'setInterval', Start> &
    Record<'clearTimeout' | 'clearInterval', Clear>;
  const { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci } = timers;
  const wrapped =
    (start: Start, repeat: boolean): Start =>
    (handler, ms, ...args) => {
      if (typeof handler !== 'function') return start(handler, ms, ...args);
      const id = start(
        (...a: unknown[]) => {
          if (!repeat) tracked.timers.delete(id);
          (handler as (...b: unknown[]) => void)(...a);
        },
        ms,
        ...args,
      );
      tracked.timers.set(id, origin());
      return id;
    };
  timers.setTimeout = wrapped(st, false);
  timers.setInterval = wrapped(si, true);
  // Timeouts and intervals share one pool of ids, and either clear clears either.
  const cleared =
    (clear: Clear): Clear =>
    (id) => {
      if (id !== undefined) tracked.timers.delete(id);
      clear(id);
    };
  timers.clearTimeout = cleared(ct);
  timers.clearInterval = cleared(ci);

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = new Proxy(NativeWebSocket, {
    construct(target, args: ConstructorParameters<typeof WebSocket>) {
      const socket = new target(...args);
      tracked.sockets.add(socket);
      return socket;
    },
  });
  const nativeFetch = window.fetch;
  window.fetch = (...args: Parameters<typeof fetch>) => {
    tracked.fetches++;
    const done = (): void => void tracked.fetches--;
    const p = nativeFetch(...args);
    p.then(done, done);
    return p;
  };
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    tracked.xhrs.add(this);
    send.call(this, body);
  };
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (this: IDBFactory, name: string, version?: number) {
    const request = open.call(this, name, version);
    request.addEventListener('success', () => tracked.databases.add(request.result));
    return request;
  };
  const close = IDBDatabase.prototype.close;
  IDBDatabase.prototype.close = function (this: IDBDatabase) {
    tracked.databases.delete(this);
    close.call(this);
  };
}

/** The page's import map lets the ESM build (dist/index.js) load as an app's bundler would serve it. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{ "imports": { "eventemitter3": "/vendor/eventemitter3.js", "sockjs-client": "/shims/sockjs-client.js" } }</script>
<script type="module">import * as Surelink from '/dist/index.js'; window.Surelink = Surelink;</script>
</head><body>leaks</body></html>`;

/** Requests to the realtime endpoint the network layer has open, by request id. */
function watchNetwork(cdp: CDPSession): Map<string, string> {
  const open = new Map<string, string>();
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    if (new URL(request.url).pathname.startsWith('/realtime')) open.set(requestId, request.url);
  });
  cdp.on('Network.loadingFinished', ({ requestId }) => open.delete(requestId));
  cdp.on('Network.loadingFailed', ({ requestId }) => open.delete(requestId));
  cdp.on('Network.webSocketCreated', ({ requestId, url }) => open.set(requestId, url));
  cdp.on('Network.webSocketClosed', ({ requestId }) => open.delete(requestId));
  return open;
}

async function listenersOf(cdp: CDPSession, expression: string): Promise<Record<string, number>> {
  const { result } = await cdp.send('Runtime.evaluate', { expression, objectGroup: 'leaks' });
  if (!result.objectId) throw new Error(`${expression} is not an object`);
  const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
  const counts: Record<string, number> = {};
  for (const { type } of listeners) counts[`${expression} ${type}`] = (counts[`${expression} ${type}`] ?? 0) + 1;
  return counts;
}

async function counts(page: Page, cdp: CDPSession, network: Map<string, string>): Promise<Counts> {
  const listeners = {
    ...(await listenersOf(cdp, 'window')),
    ...(await listenersOf(cdp, 'document')),
    ...(await listenersOf(cdp, 'window.appSignal')),
  };
  await cdp.send('Runtime.releaseObjectGroup', { objectGroup: 'leaks' });
  const inPage = await page.evaluate(async () => {
    const { tracked } = window as unknown as LeakWindow;
    // Those done with are let go of, so the heap measured at the end is not this probe's.
    for (const s of tracked.sockets) if (s.readyState === WebSocket.CLOSED) tracked.sockets.delete(s);
    for (const x of tracked.xhrs)
      if (x.readyState === XMLHttpRequest.UNSENT || x.readyState === XMLHttpRequest.DONE) tracked.xhrs.delete(x);
    const { held = [], pending = [] } = await navigator.locks.query();
    return {
      timers: [...tracked.timers.values()].sort(),
      sockets: tracked.sockets.size,
      fetches: tracked.fetches,
      // Sent and not done (an aborted one is UNSENT again).
      xhrs: tracked.xhrs.size,
      locks: held.length + pending.length,
      databases: tracked.databases.size,
    };
  });
  return { listeners, ...inPage, network: [...network.values()].sort() };
}

/** The page's JS heap in use after a full GC, in MB (one decimal): reported, never asserted. */
async function heapUsed(cdp: CDPSession): Promise<string> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return (usedSize / 1e6).toFixed(1);
}

/** TCP connections to `port` accepted by any server of this process (the examples server's). */
function serverConnections(port: () => number): { readonly open: Set<Socket>; stop(): void } {
  const open = new Set<Socket>();
  const onSocket = (message: unknown): void => {
    const { socket } = message as { socket: Socket };
    if (socket.localPort !== port()) return;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  subscribe('net.server.socket', onSocket);
  return { open, stop: () => unsubscribe('net.server.socket', onSocket) };
}

/**
 * Creates a wave of `count` clients and waits until they are open, with a waitFor, a stream and a
 * request pending on each (to be ended by `close()`). Of the first wave of a case, the first client
 * is closed before it starts connecting and the second while it connects.
 */
function startWave(page: Page, c: Case, store: Store, keyPrefix: string, count: number, first: boolean) {
  return page.evaluate(
    async ({ options, store, keyPrefix, count, first, transport }) => {
      const w = window as unknown as LeakWindow;
      const S = w.Surelink;
      const signal = w.appSignal;
      w.wave = [];
      const url = new URL('/realtime', location.href).href;
      for (let i = 0; i < count; i++) {
        const storage =
          store === 'webStorage'
            ? S.webStorageStore(localStorage)
            : store === 'indexedDB'
              ? S.indexedDBStore()
              : undefined;
        const client = new S.RealtimeClient(url, {
          ...options,
          // Quick reconnects and heartbeats, so the cycles and pings happen within the test.
          reconnect: { initialDelayMs: 100, maxDelayMs: 300 },
          heartbeat: { intervalMs: 250, timeoutMs: 5_000 },
          rememberTransport: false,
          ...(storage ? { queue: { storage, storageKey: `${keyPrefix}:${i}` } } : {}),
        });
        client.on('error', () => undefined);
        if (first && i === 0) {
          client.close(); // idle: the connect was only scheduled
          continue;
        }
        if (first && i === 1) {
          await client.waitFor('state', { timeoutMs: 10_000, signal });
          client.close(); // connecting
          continue;
        }
        // Each ends with close(): the waitFor rejects, the stream returns.
        const waiting = client.waitFor('never', { signal, timeoutMs: 600_000 }).then(
          () => 'resolved',
          (e: Error) => e.name,
        );
        const streaming = (async () => {
          for await (const _event of client.stream('never', { signal })) return 'yielded';
          return 'returned';
        })();
        const ended = Promise.all([waiting, streaming]);
        w.wave.push({ client, ended });
      }
      await Promise.all(
        w.wave.map(async ({ client }) => {
          if (client.state !== 'open') await client.waitFor('open', { timeoutMs: 15_000, signal });
          if (client.transport !== transport) w.failures.push(`on ${client.transport}, not ${transport}`);
        }),
      );
    },
    { options: c.options, store, keyPrefix, count, first, transport: c.transport },
  );
}

/** Every open client of the wave: a request, a ping and a server message through waitFor and a stream. */
function exercise(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const w = window as unknown as LeakWindow;
    const signal = w.appSignal;
    await Promise.all(
      w.wave.map(async ({ client }, i) => {
        if (client.state === 'closed') return;
        if (client.state !== 'open') await client.waitFor('open', { timeoutMs: 15_000, signal });
        const stream = client.stream('lab:received', { signal });
        const next = stream.next();
        const got = client.waitFor('lab:received', { timeoutMs: 10_000, signal });
        client.send('lab:message', { n: i, text: 'leaks' });
        const echoed = await client.request('echo', i, { timeoutMs: 10_000, signal });
        if (echoed !== i) w.failures.push(`echo ${String(echoed)} for ${i}`);
        await got;
        await next;
        await stream.return?.();
        await client.ping({ timeoutMs: 10_000 });
      }),
    );
  });
}

/** Arms a wait for each open client's next `close`, the link lost (see `disrupt`). */
function armClose(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as LeakWindow;
    w.dropped = Promise.all(
      w.wave.map(({ client }) =>
        client.state === 'closed' ? undefined : client.waitFor('close', { timeoutMs: 15_000, signal: w.appSignal }),
      ),
    );
  });
}

/** Waits until every client lost its link, then closes the first one not open (reconnecting, or paused). */
function closeOneDropped(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const w = window as unknown as LeakWindow;
    await w.dropped;
    w.wave.find(({ client }) => client.state !== 'open' && client.state !== 'closed')?.client.close();
  });
}

/**
 * Drops every client's link, and waits until it is back (`exercise`). `cut`: the lab destroys every
 * TCP connection, and clients reconnect after a backoff. A held long poll survives that: Chromium
 * sends a request again on a new connection when a reused one was reset before any answer, so long
 * polling gets no `close` from it. `offline`: the network goes (Playwright's emulation), and
 * clients pause until it is back.
 */
async function disrupt(page: Page, server: ExamplesServer, c: Case, how: 'cut' | 'offline'): Promise<void> {
  const expectClose = how === 'offline' || c.transport !== 'longpoll';
  if (expectClose) await armClose(page);
  const context = page.context();
  try {
    if (how === 'cut') await labControl(server, 'cut');
    else await context.setOffline(true);
    if (expectClose) await closeOneDropped(page);
  } finally {
    if (how === 'offline') await context.setOffline(false);
  }
  await exercise(page);
}

/**
 * Closes the wave's clients, each with a request (and, if open, a ping) just sent, and checks
 * that close() ended those and the waitFor and stream pending since `startWave`.
 */
function closeWave(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const w = window as unknown as LeakWindow;
    const signal = w.appSignal;
    const outcomes = w.wave.map(async ({ client, ended }) => {
      const name = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (e: Error) => e.name,
        );
      const atClose = [name(client.request('echo', 'at close', { signal, timeoutMs: 600_000 }))];
      // A ping is rejected as on any loss of the link (NotConnectedError), which close() starts with.
      const closedOrLost = (n: string) => (n === 'NotConnectedError' ? 'ClosedError' : n);
      if (client.state === 'open') atClose.push(name(client.ping({ timeoutMs: 60_000 })).then(closedOrLost));
      client.close();
      return [...(await ended), ...(await Promise.all(atClose))];
    });
    for (const outcome of await Promise.all(outcomes))
      if (outcome.some((o) => o !== 'ClosedError' && o !== 'returned'))
        w.failures.push(`after close(): ${outcome.join()}`);
    w.wave = [];
  });
}

/**
 * Runs one case in waves; after the first wave's clients opened, checks that the probes see them
 * (else a leak would go unseen): their listeners, timers, locks, connections and requests.
 */
async function runCase(page: Page, server: ExamplesServer, c: Case, store: Store, probe: Probe): Promise<void> {
  await labControl(server, c.refuseUpgrades ? 'refuse-upgrades?on=1' : 'refuse-upgrades?on=0');
  for (let made = 0, wave = 0; made < N; made += c.wave, wave++) {
    await startWave(page, c, store, `leaks:${c.name}:${store}:${wave}`, Math.min(c.wave, N - made), wave === 0);
    await exercise(page);
    if (wave === 0) {
      const open = await page.evaluate(() => (window as unknown as LeakWindow).wave.length);
      const live = await probe.counts();
      const { baseline } = probe;
      expect(live.listeners['window online']).toBe((baseline.listeners['window online'] ?? 0) + open);
      expect(live.listeners['document visibilitychange']).toBe(
        (baseline.listeners['document visibilitychange'] ?? 0) + open,
      );
      expect(live.timers.length).toBeGreaterThanOrEqual(baseline.timers.length + open); // heartbeats
      expect(live.locks).toBe(store === 'none' ? 0 : open);
      expect(live.databases).toBe(store === 'indexedDB' ? open : 0);
      expect(live.network.length).toBeGreaterThanOrEqual(open);
      expect(live[c.carrier]).toBeGreaterThanOrEqual(open);
    }
    await disrupt(page, server, c, wave % 2 === 0 ? 'cut' : 'offline');
    await closeWave(page);
  }
}

describe.skipIf(skipBrowserTests)('a single-page app creating and closing clients in Chromium', () => {
  const chromium = useChromium();

  it(`leaves no listener, timer, socket, request or lock behind (${N} clients per transport and store)`, async () => {
    let port = 0;
    const connections = serverConnections(() => port);
    try {
      await withExamples(chromium(), async (server) => {
        port = Number(new URL(server.url).port);
        const page = await chromium().context.newPage();
        const errors = collectPageErrors(page);
        await page.addInitScript(instrument);
        // The page's own document, on the examples server's origin: written over its index (with
        // page.route, Playwright's interception would fail every WebSocket of the page).
        await page.goto(`${server.url}/index.html`);
        await page.setContent(PAGE);
        await page.waitForFunction(() => 'Surelink' in window, null, WAIT);
        await page.evaluate(() => {
          const w = window as unknown as LeakWindow;
          w.appSignal = new AbortController().signal;
          w.failures = [];
        });
        const cdp = await chromium().context.newCDPSession(page);
        await cdp.send('Network.enable');
        const network = watchNetwork(cdp);
        const initial = await counts(page, cdp, network);

        // sockjs-client's own global state: loading it adds one `unload` listener to the page (its
        // utils/event.js, at module load), shared by every SockJS it makes. Loaded here, once, it is
        // part of the baseline: after every client of every case the page must hold no more of it.
        await page.evaluate('import("sockjs-client").then(() => undefined)');
        const baseline = await counts(page, cdp, network);
        const probe: Probe = { counts: () => counts(page, cdp, network), baseline };
        const heapBefore = await heapUsed(cdp);
        expect(baseline).toEqual({ ...initial, listeners: { ...initial.listeners, 'window unload': 1 } });

        let heapAfterFirst = '';
        for (const c of CASES) {
          if (c !== CASES[0]) heapAfterFirst ||= await heapUsed(cdp);
          for (const store of STORES) {
            try {
              await runCase(page, server, c, store, probe);
            } catch (error) {
              const states = await page.evaluate(() =>
                (window as unknown as LeakWindow).wave.map(({ client }) => `${client.state}/${client.transport}`),
              );
              const now = await counts(page, cdp, network);
              throw new Error(`${c.name}, store ${store}: clients ${states.join(' ')}, ${JSON.stringify(now)}`, {
                cause: error,
              });
            }
            await expect
              .poll(() => counts(page, cdp, network), { ...WAIT, message: `${c.name}, store ${store}` })
              .toEqual(baseline);
          }
        }
        await labControl(server, 'refuse-upgrades?on=0');
        expect(await page.evaluate(() => (window as unknown as LeakWindow).failures)).toEqual([]);

        const heapAfter = await heapUsed(cdp);
        console.info(
          `leaks: JS heap after a GC: ${heapBefore} MB before the clients, ${heapAfterFirst} MB after ${N * STORES.length}, ` +
            `${heapAfter} MB after ${N * CASES.length * STORES.length} (not asserted)`,
        );
        // Chromium logs every refused WebSocket, cut stream and request to a connection gone; nothing else.
        const networkNoise = /^console\.error: (WebSocket connection to .* failed|Failed to load resource)/;
        expect(errors.filter((e) => !networkNoise.test(e))).toEqual([]);
        // The server's side, the page still open: every connection that carried a request ends (idle
        // keep-alive ones when the server's keep-alive timeout, 5 s, closes them). A socket Chromium
        // opened ahead of need and never used is the browser's, not a client's: Node ends it only
        // after its headers timeout (60 s), so it is left out.
        const used = (): string[] =>
          [...connections.open].filter((s) => s.bytesRead > 0).map((s) => `:${s.remotePort} read ${s.bytesRead} B`);
        await expect.poll(used, WAIT).toEqual([]);
      });
    } finally {
      connections.stop();
    }
  });
});
