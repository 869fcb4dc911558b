// The browser-lifecycle promises (README "Browser lifecycle", SPEC `heartbeat` and "Browser
// lifecycle") in real Chromium, whose tabs here go hidden, visible and frozen as a user's do
// (useLifecycleChromium: Playwright's own pages are kept visible by its focus emulation):
// - a page frozen (Page Lifecycle `freeze`) lets go of its link and, resumed, resumes its session;
//   frozen as the network goes, it waits for `online` (Chromium says `offline` or `online` only
//   after `resume`) without an attempt, as does a page restored from the back/forward cache into
//   a network that went meanwhile; frozen offline and resumed with the network back, it
//   reconnects on `resume`;
// - a page whose JavaScript stopped with no event at all (a laptop asleep: the debugger holds it)
//   finds its silent link dead by the wall clock on waking, before any ping, and writes no message
//   into it;
// - `offline` pauses retries without burning attempts, `online` reconnects without a backoff;
// - a tab becoming visible skips a pending backoff.
// Deliveries are counted at the server (the lab's 'lab:message' log): each exactly once.
import type { CDPSession, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientOptions, RealtimeClient } from '../../src/index.js';
import {
  collectPageErrors,
  deliveries,
  labControl,
  skipBrowserTests,
  useLifecycleChromium,
  WAIT,
  withExamples,
  type Chromium,
  type ExamplesServer,
} from '../helpers/browser.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/** One thing the page saw, in the order it saw it; `at` is the page's `Date.now()`. */
interface Entry {
  readonly at: number;
  /** A client event (`state`, `close`, `reconnecting`, `open`), `ping` (written to a socket) or a DOM event. */
  readonly kind: string;
  readonly data: Record<string, unknown>;
}

interface LifeWindow {
  Surelink: { RealtimeClient: typeof RealtimeClient };
  client: RealtimeClient;
  /** A client that ignores the browser's events, retrying as if nothing paused it. */
  control: RealtimeClient;
  log: Entry[];
  controlAttempts: number[];
  /** Ticks of a 50 ms interval: whether the page's timers ran. */
  ticks: number;
}

/** JSON-safe options: the page builds the client from them. */
type PageOptions = Pick<ClientOptions, 'heartbeat' | 'reconnect' | 'transports'>;

/**
 * The script-tag bundle in `page` (at `base`, the examples server or a proxy in front of it) and a
 * client on `base`'s /realtime, open, with everything it and the page do recorded in `log`.
 */
async function startClient(page: Page, base: string, options: PageOptions, control = false): Promise<void> {
  await page.goto(`${base}/index.html`);
  await page.addScriptTag({ url: '/dist/surelink.min.js' });
  await page.evaluate(
    ({ options, control }) => {
      const w = window as unknown as LifeWindow;
      w.log = [];
      w.ticks = 0;
      setInterval(() => w.ticks++, 50);
      const note = (kind: string, data: Record<string, unknown> = {}): void =>
        void w.log.push({ at: Date.now(), kind, data });
      for (const type of ['visibilitychange', 'freeze', 'resume'])
        document.addEventListener(type, () => note(type, { visibility: document.visibilityState, ticks: w.ticks }));
      for (const type of ['pagehide', 'pageshow']) addEventListener(type, () => note(type));
      for (const type of ['online', 'offline'])
        addEventListener(type, () => note(type, { onLine: navigator.onLine, control: w.controlAttempts?.length }));
      // Every ping the page writes to a socket (the wire form is ["p",ts]).
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (this: WebSocket, data) {
        if (typeof data === 'string' && data.startsWith('["p",')) note('ping', { frame: data });
        send.call(this, data);
      };
      const url = new URL('/realtime', location.href).href;
      w.client = new w.Surelink.RealtimeClient(url, options);
      for (const kind of ['state', 'close', 'reconnecting', 'open'] as const)
        w.client.on(kind, (data) => note(kind, data as unknown as Record<string, unknown>));
      if (control) {
        w.controlAttempts = [];
        w.control = new w.Surelink.RealtimeClient(url, { ...options, lifecycle: false });
        w.control.on('reconnecting', ({ attempt }) => void w.controlAttempts.push(attempt));
      }
    },
    { options, control },
  );
  await page.waitForFunction(
    (control) => {
      const w = window as unknown as LifeWindow;
      return w.client.state === 'open' && (!control || w.control.state === 'open');
    },
    control,
    { polling: 100, ...WAIT },
  );
}

const log = (page: Page): Promise<Entry[]> => page.evaluate(() => (window as unknown as LifeWindow).log);

/** What the client's events were since entry `from`, as `kind` plus the fields that matter here. */
async function eventsSince(page: Page, from: number): Promise<string[]> {
  return (await log(page)).slice(from).flatMap(({ kind, data }) => {
    if (kind === 'state') return [`state ${String(data.from)}>${String(data.to)} (${String(data.reason)})`];
    if (kind === 'close') return [`close ${String(data.code)} ${String(data.reason)} ${String(data.willReconnect)}`];
    if (kind === 'reconnecting') return [`reconnecting #${String(data.attempt)}`];
    if (kind === 'open') return [`open resumed=${String(data.resumed)}`];
    return [kind];
  });
}

/** Sends one 'lab:message' per text; returns what each `send` returned. */
function send(page: Page, texts: readonly string[]): Promise<string[]> {
  return page.evaluate(
    (all) => all.map((text, i) => (window as unknown as LifeWindow).client.send('lab:message', { n: i + 1, text })),
    texts,
  );
}

/** A round trip: the server delivers in order, so once it answered, every message sent before arrived. */
function barrier(page: Page): Promise<unknown> {
  return page.evaluate(() =>
    (window as unknown as LifeWindow).client.request('echo', 'barrier', { timeoutMs: 10_000 }),
  );
}

/** Polls on a timer: a hidden page runs no animation frame, Playwright's default. */
function waitFor(page: Page, predicate: (w: LifeWindow) => boolean): Promise<unknown> {
  return page.waitForFunction(`(${predicate.toString()})(window)`, null, { polling: 100, ...WAIT });
}

const waitOpen = (page: Page): Promise<unknown> => waitFor(page, (w) => w.client.state === 'open');

/** A fresh page with its errors collected, in front (so visible). */
async function newPage(browser: Chromium): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  return { page, errors: collectPageErrors(page) };
}

/** `promise`, or a rejection naming `what` after {@link WAIT}'s time. */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT.timeout);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Real time passing in the test runner (not in the page, which may be stopped). */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skipBrowserTests)('browser lifecycle in Chromium', () => {
  const chromium = useLifecycleChromium();
  const teardown: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of teardown.splice(0).reverse()) await step().catch(() => undefined);
  });

  /**
   * The examples server behind a proxy that can silence the links open now (closed after the test);
   * the page loads through `url`.
   */
  async function proxied(server: ExamplesServer): Promise<{ proxy: TcpProxy; url: string }> {
    const proxy = await TcpProxy.start(Number(new URL(server.url).port));
    teardown.push(() => proxy.close());
    return { proxy, url: `http://127.0.0.1:${proxy.port}` };
  }

  /** Takes the browser offline or back; a test that fails offline leaves it online for the next. */
  async function setOffline(offline: boolean): Promise<void> {
    if (offline) teardown.push(() => chromium().context.setOffline(false));
    await chromium().context.setOffline(offline);
  }

  async function cdpOf(page: Page): Promise<CDPSession> {
    const cdp = await chromium().context.newCDPSession(page);
    teardown.push(() => cdp.detach());
    return cdp;
  }

  it('a page frozen while its link goes silent lets go of it on `freeze` and resumes the session on `resume`; each message once', async () => {
    await withExamples(chromium(), async (server) => {
      const { proxy, url } = await proxied(server);
      const { page, errors } = await newPage(chromium());
      // A heartbeat far longer than the test: no timer of it can explain what happens here.
      await startClient(page, url, {
        heartbeat: { intervalMs: 20_000, timeoutMs: 10_000 },
        transports: ['websocket'],
      });
      expect(await send(page, ['frozen: before 1', 'frozen: before 2'])).toEqual(['sent', 'sent']);
      await barrier(page);

      // The link goes silent both ways (nothing, not even a close, passes from now on); messages are
      // still written into it, unacknowledged.
      proxy.silence();
      expect(await send(page, ['frozen: unacked 1', 'frozen: unacked 2'])).toEqual(['sent', 'sent']);
      const from = (await log(page)).length;

      const cdp = await cdpOf(page);
      await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
      await sleep(3000); // a frozen page runs no timer: its 50 ms interval must not tick meanwhile
      await cdp.send('Page.setWebLifecycleState', { state: 'active' });
      await waitOpen(page);

      const entries = (await log(page)).slice(from);
      const frozen = entries.find((e) => e.kind === 'freeze');
      const resumed = entries.find((e) => e.kind === 'resume');
      expect(frozen?.data.ticks).toBe(resumed?.data.ticks); // really frozen: no timer ran
      // Hidden (a frozen page is), frozen: the client let go with 1001 and retries without a backoff
      // attempt; resumed: it reconnects at once and resumes its session.
      expect(await eventsSince(page, from)).toEqual([
        'visibilitychange',
        'freeze',
        'close 1001 frozen true',
        'state open>reconnecting (frozen)',
        'resume',
        'state reconnecting>connecting (resumed)',
        'state connecting>open (resumed)',
        'open resumed=true',
      ]);

      await page.bringToFront();
      expect(await send(page, ['frozen: after 1'])).toEqual(['sent']);
      await barrier(page);
      const texts = [
        'frozen: before 1',
        'frozen: before 2',
        'frozen: unacked 1',
        'frozen: unacked 2',
        'frozen: after 1',
      ];
      expect(await deliveries(server, texts)).toEqual([1, 1, 1, 1, 1]);
      expect(errors).toEqual([]);
    });
  });

  it('a page frozen while the network goes away comes back offline: it waits for `online` without an attempt, then resumes', async () => {
    await withExamples(chromium(), async (server) => {
      const { page, errors } = await newPage(chromium());
      await startClient(page, server.url, { transports: ['websocket'] });
      const from = (await log(page)).length;
      const cdp = await cdpOf(page);
      await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
      await setOffline(true);
      await cdp.send('Page.setWebLifecycleState', { state: 'active' });
      await waitFor(page, (w) => w.log.some((e) => e.kind === 'offline'));
      expect(await send(page, ['frozen offline: queued 1'])).toEqual(['queued']);
      // Chromium says `resume` first, by when `navigator.onLine` is false already, then `offline`.
      expect(await eventsSince(page, from)).toEqual([
        'visibilitychange',
        'freeze',
        'close 1001 frozen true',
        'state open>reconnecting (frozen)',
        'resume',
        'offline',
      ]);
      await setOffline(false);
      await waitOpen(page);
      expect((await eventsSince(page, from)).slice(6)).toEqual([
        'online',
        'state reconnecting>connecting (online)',
        'state connecting>open (resumed)',
        'open resumed=true',
      ]);
      await barrier(page);
      expect(await deliveries(server, ['frozen offline: queued 1'])).toEqual([1]);
      expect(errors).toEqual([]);
    });
  });

  it('a page frozen while offline and resumed online reconnects on `resume`, not waiting for the `online` it is told after', async () => {
    await withExamples(chromium(), async (server) => {
      const { page, errors } = await newPage(chromium());
      await startClient(page, server.url, { transports: ['websocket'] });
      const from = (await log(page)).length;
      const cdp = await cdpOf(page);
      await setOffline(true);
      await waitFor(page, (w) => w.log.some((e) => e.kind === 'offline'));
      expect(await send(page, ['offline frozen: queued 1'])).toEqual(['queued']);
      await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
      await setOffline(false);
      await cdp.send('Page.setWebLifecycleState', { state: 'active' });
      await waitOpen(page);
      // The browser says it is online at `resume`: the pause is over then (pauses.ts). Chromium's
      // late `online` comes while the attempt is under way, and changes nothing.
      const events = await eventsSince(page, from);
      expect(events.filter((e) => e !== 'online')).toEqual([
        'offline',
        'close 1006 offline true',
        'state open>reconnecting (offline)',
        'visibilitychange',
        'freeze',
        'resume',
        'state reconnecting>connecting (resumed)',
        'state connecting>open (resumed)',
        'open resumed=true',
      ]);
      expect(events.indexOf('online')).toBeGreaterThan(events.indexOf('resume'));
      await barrier(page);
      expect(await deliveries(server, ['offline frozen: queued 1'])).toEqual([1]);
      expect(errors).toEqual([]);
    });
  });

  it('a page restored from the back/forward cache into a network that went meanwhile waits for `online` without an attempt', async () => {
    await withExamples(chromium(), async (server) => {
      const { page, errors } = await newPage(chromium());
      await startClient(page, server.url, { transports: ['websocket'] });
      expect(await send(page, ['cached offline: before 1'])).toEqual(['sent']);
      await barrier(page);
      const from = (await log(page)).length;
      const cdp = await cdpOf(page);
      await cdp.send('Network.enable');
      const network = (offline: boolean): Promise<unknown> =>
        cdp.send('Network.emulateNetworkConditions', {
          offline,
          latency: 0,
          downloadThroughput: -1,
          uploadThroughput: -1,
        });
      teardown.push(() => network(false)); // (after a failure while offline)
      await page.goto(`${server.url}/index.html?elsewhere`);
      await network(true); // while the page is in the cache: it hears no `offline`
      await page.goBack({ waitUntil: 'commit', ...WAIT });
      await waitFor(page, (w) => w.log?.some((e) => e.kind === 'offline'));
      expect(await page.evaluate(() => (window as unknown as Partial<LifeWindow>).client !== undefined)).toBe(true);
      expect(await send(page, ['cached offline: queued 1'])).toEqual(['queued']);
      // No attempt, whatever Chromium says after `pageshow` (its emulation adds an `online` while
      // `navigator.onLine` is still false): the client only stored its session.
      const cached = await eventsSince(page, from);
      expect(cached.slice(0, 3)).toEqual(['pagehide', 'close 1001 frozen true', 'state open>reconnecting (frozen)']);
      expect(
        cached.slice(3).filter((e) => !/^(visibilitychange|freeze|resume|pageshow|online|offline)$/.test(e)),
      ).toEqual([]);
      await network(false);
      await waitOpen(page);
      const events = await eventsSince(page, from);
      expect(events.slice(events.lastIndexOf('online'))).toEqual([
        'online',
        'state reconnecting>connecting (online)',
        'state connecting>open (resumed)',
        'open resumed=true',
      ]);
      await barrier(page);
      expect(await deliveries(server, ['cached offline: before 1', 'cached offline: queued 1'])).toEqual([1, 1]);
      expect(errors).toEqual([]);
    });
  });

  it('a page whose JavaScript stood still with no event (a laptop asleep) finds its silent link dead by the wall clock on waking, before any ping; each message once', async () => {
    await withExamples(chromium(), async (server) => {
      const { proxy, url } = await proxied(server);
      const { page, errors } = await newPage(chromium());
      const heartbeat = { intervalMs: 5000, timeoutMs: 1000 };
      await startClient(page, url, { heartbeat, transports: ['websocket'] });
      expect(await send(page, ['asleep: before 1'])).toEqual(['sent']);
      await barrier(page); // the last inbound frame: the link's deadline is 6 s after it

      proxy.silence();
      const silentFrom = Date.now();
      expect(await send(page, ['asleep: unacked 1'])).toEqual(['sent']);
      const from = (await log(page)).length;

      // The debugger stops the page's JavaScript at its next statement (the 50 ms interval's): no
      // timer, no event, while the wall clock goes on, as in a laptop's sleep. No lifecycle event
      // fires, so only the heartbeat can find the link dead.
      const cdp = await cdpOf(page);
      await cdp.send('Debugger.enable');
      const paused = new Promise((resolve) => cdp.once('Debugger.paused', resolve));
      await cdp.send('Debugger.pause');
      await bounded(paused, 'the debugger pausing the page');
      const asleepAt = Date.now(); // the page stopped before this (nothing it did later can be earlier)
      await sleep(silentFrom + heartbeat.intervalMs + heartbeat.timeoutMs + 1000 - Date.now());
      await cdp.send('Debugger.resume');
      await cdp.send('Debugger.disable');

      // The first send after waking: never written into the link known dead by now.
      expect(await send(page, ['asleep: after waking'])).toEqual(['queued']);
      const entries = (await log(page)).slice(from);
      const closed = entries.findIndex((e) => e.kind === 'close');
      expect(entries[closed]?.data).toMatchObject({ code: 4000, reason: 'heartbeat timeout', willReconnect: true });
      // Found on waking, by the wall clock: no ping went out after the sleep to find it.
      expect(entries[closed]?.at).toBeGreaterThanOrEqual(asleepAt);
      expect(entries.slice(0, closed).filter((e) => e.kind === 'ping' && e.at >= asleepAt)).toEqual([]);

      // A new connection passes: the session resumes and what was sent since goes once.
      await waitOpen(page);
      expect((await eventsSince(page, from)).filter((e) => e.startsWith('open'))).toEqual(['open resumed=true']);
      await barrier(page);
      const texts = ['asleep: before 1', 'asleep: unacked 1', 'asleep: after waking'];
      expect(await deliveries(server, texts)).toEqual([1, 1, 1]);
      expect(errors).toEqual([]);
    });
  });

  it('an open client going offline lets go of its link at once and makes no attempt; online reconnects at once and resumes; each message once', async () => {
    await withExamples(chromium(), async (server) => {
      const { page, errors } = await newPage(chromium());
      await startClient(page, server.url, { transports: ['websocket'] });
      expect(await send(page, ['offline open: before 1'])).toEqual(['sent']);
      await barrier(page);
      const from = (await log(page)).length;
      await setOffline(true);
      await waitFor(page, (w) => w.log.some((e) => e.kind === 'offline'));
      expect(await page.evaluate(() => navigator.onLine)).toBe(false);
      expect(await send(page, ['offline open: queued 1', 'offline open: queued 2'])).toEqual(['queued', 'queued']);
      await setOffline(false);
      await waitOpen(page);
      expect(await page.evaluate(() => navigator.onLine)).toBe(true);
      // Chromium keeps an open WebSocket through an emulated offline spell: the client let go of it
      // on `offline` (1006, retried), and waited without a backoff attempt until `online`.
      expect(await eventsSince(page, from)).toEqual([
        'offline',
        'close 1006 offline true',
        'state open>reconnecting (offline)',
        'online',
        'state reconnecting>connecting (online)',
        'state connecting>open (resumed)',
        'open resumed=true',
      ]);
      await barrier(page);
      const texts = ['offline open: before 1', 'offline open: queued 1', 'offline open: queued 2'];
      expect(await deliveries(server, texts)).toEqual([1, 1, 1]);
      expect(errors).toEqual([]);
    });
  });

  it('offline pauses the retries without burning attempts (a client ignoring it keeps counting); online retries at once, counting on', async () => {
    await withExamples(chromium(), async (server) => {
      const { page, errors } = await newPage(chromium());
      const reconnect = { initialDelayMs: 100, maxDelayMs: 100, jitter: 'none' as const };
      await startClient(page, server.url, { reconnect, transports: ['websocket'] }, true);
      expect(await send(page, ['offline: before 1'])).toEqual(['sent']);
      await barrier(page);

      // Every attempt fails from now on: the attempt counter climbs.
      await labControl(server, 'refuse-upgrades?on=1');
      await labControl(server, 'cut');
      await waitFor(page, (w) => w.log.filter((e) => e.kind === 'reconnecting').length >= 2);

      await setOffline(true);
      await waitFor(page, (w) => w.log.some((e) => e.kind === 'offline'));
      // The client that ignores the browser's events retries on meanwhile: three more attempts of it
      // are time enough for as many of the paused one.
      await waitFor(page, (w) => {
        const offline = w.log.find((e) => e.kind === 'offline');
        return w.controlAttempts.length >= Number(offline?.data.control) + 3;
      });
      expect(await send(page, ['offline: queued 1', 'offline: queued 2'])).toEqual(['queued', 'queued']);
      await setOffline(false);
      await waitFor(page, (w) => w.log.some((e) => e.kind === 'online'));
      await waitFor(page, (w) => {
        const i = w.log.findIndex((e) => e.kind === 'online');
        return w.log.slice(i).some((e) => e.kind === 'reconnecting');
      });
      const entries = await log(page);
      const offlineAt = entries.findIndex((e) => e.kind === 'offline');
      const onlineAt = entries.findIndex((e) => e.kind === 'online');
      const attempts = (es: Entry[]): number[] =>
        es.filter((e) => e.kind === 'reconnecting').map((e) => Number(e.data.attempt));
      const before = attempts(entries.slice(0, offlineAt));
      const last = before[before.length - 1] ?? 0;
      // Offline: no attempt, and none counted.
      expect(attempts(entries.slice(offlineAt, onlineAt))).toEqual([]);
      const onOnline = await eventsSince(page, onlineAt);
      // Online: an attempt at once (no backoff waited out), which fails, and the count goes on from
      // where it stood.
      expect(onOnline.slice(0, 4)).toEqual([
        'online',
        'state reconnecting>connecting (online)',
        expect.stringMatching(/^state connecting>reconnecting /) as unknown as string,
        `reconnecting #${last + 1}`,
      ]);

      await labControl(server, 'refuse-upgrades?on=0');
      await waitOpen(page);
      expect((await eventsSince(page, onlineAt)).filter((e) => e.startsWith('open'))).toEqual(['open resumed=true']);
      await barrier(page);
      const texts = ['offline: before 1', 'offline: queued 1', 'offline: queued 2'];
      expect(await deliveries(server, texts)).toEqual([1, 1, 1]);
      // Chromium logs each refused or offline attempt; nothing else went wrong.
      expect(errors.filter((e) => !/WebSocket connection to '.*' failed: /.test(e))).toEqual([]);
    });
  });

  it('a hidden tab waiting out a long backoff reconnects as soon as it becomes visible; each message once', async () => {
    await withExamples(chromium(), async (server) => {
      const { page, errors } = await newPage(chromium());
      // Ten minutes between attempts: only becoming visible can explain a prompt reconnect.
      const reconnect = { initialDelayMs: 600_000, maxDelayMs: 600_000, jitter: 'none' as const };
      await startClient(page, server.url, { reconnect, transports: ['websocket'] });
      expect(await send(page, ['hidden: before 1'])).toEqual(['sent']);
      await barrier(page);

      await chromium().context.newPage(); // in front: `page` is a background tab now (closed by withExamples)
      await waitFor(page, () => document.visibilityState === 'hidden');
      const from = (await log(page)).length;
      await labControl(server, 'cut');
      await waitFor(page, (w) => w.log.some((e) => e.kind === 'reconnecting'));
      expect(await send(page, ['hidden: queued 1'])).toEqual(['queued']);

      await page.bringToFront();
      await waitOpen(page);
      expect(await eventsSince(page, from)).toEqual([
        'close 1006  true',
        'state open>reconnecting (code 1006)',
        'reconnecting #1',
        'visibilitychange',
        'state reconnecting>connecting (health check)',
        'state connecting>open (resumed)',
        'open resumed=true',
      ]);
      await barrier(page);
      expect(await deliveries(server, ['hidden: before 1', 'hidden: queued 1'])).toEqual([1, 1]);
      expect(errors).toEqual([]);
    });
  });
});
