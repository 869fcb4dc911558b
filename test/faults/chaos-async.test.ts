/**
 * Combined faults on the asynchronous persistence path, with API calls racing them. Pages share an
 * asynchronous `SessionStore` that behaves like IndexedDB: a load or write completes 0-30 ms
 * (seeded) after it is made, one at a time, and a page that dies with a write under way has it
 * land completely or not at all (a seeded coin); one dying during its load never reads. While both
 * sides stream numbered messages (client → server by `send` and, one in four, by `request`, some
 * with a short timeout or an AbortSignal aborted at a random moment), a seeded schedule mixes TCP
 * cuts, cuts during handshakes, page reloads (some a few ms after the previous page started, so
 * during its load or first writes), offline spells long enough for `queue.ttlMs` to expire part of
 * the queue across reloads, and `close()` followed by a new client on the same store.
 *
 * What is asserted (README, "Guarantees and limits"):
 * - client → server: every number arrives at most once and in order; one the app was not told of
 *   (queue:expired, an error's `undelivered`, close()'s list, a request's rejection) arrives exactly
 *   once, unless its page died before any write holding it completed (it was never transmitted
 *   either); an expired one never; a request withdrawn from the queue (aborted or timed out before
 *   it was sent) never runs, unless its page died before a write after the withdrawal completed
 *   (the stored session still held it: the limit of an asynchronous store); a request resolved
 *   ran once, and was answered by its own response;
 * - server → client: within a session, each page receives consecutive numbers; a reloaded page
 *   never starts past what was delivered (no loss), and what it gets again is only what the dead
 *   page delivered in its last acknowledgement window (`WINDOW_MS` before it died, or was closed
 *   and its session adopted: the documented limit for asynchronous stores); the last session
 *   reaches N;
 * - a session is new only on the first page and on one made right after close() (which may adopt
 *   the closed session when a write was under way, or when the closed client never read the store:
 *   `Persistence.clear()`); a resume never meets a gap (the client acknowledges only what its
 *   store holds).
 * `CHAOS_SEED=k` shifts the seeds.
 */
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import type { TransportName } from '../../src/transports/transport.js';
import { until } from '../helpers/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { type Numbered, SockJS, numberRequests, pageClock, seeded, sleep, useFaults, within } from './helpers.js';

const { server, client, defer } = useFaults();

const N = 400;
const STEPS = 14;
const REQUEST_EVERY = 4;
const TTL_MS = 400;
/**
 * How long before its death a page may have delivered what the next page gets again: an ack is
 * owed at most 50 ms, its write takes up to 30 ms behind one under way (30 ms), plus scheduling.
 */
const WINDOW_MS = 250;
const SHIFT = Number(process.env.CHAOS_SEED ?? 0);
type Fault = 'cut' | 'handshake' | 'reload' | 'quick' | 'offline' | 'close';
/** Server payloads carry the session they belong to. */
type Tagged = { n: number; s: number };

/** The shared "disk" of the IndexedDB-like store, and its one queue of operations. */
interface Disk {
  readonly data: Map<string, string>;
  tail: Promise<void>;
  /** Runs when a write lands, with the stored text. */
  readonly landed: (text: string) => void;
}

/**
 * One page's view of an IndexedDB-like store shared by every page: each operation takes 0-30 ms
 * and runs after every one made before it, by any page (IndexedDB orders transactions on one
 * store so); `put` copies the value when it is made, as IndexedDB does. A dead page's operations
 * not started yet never run (nor answer); its write under way lands or not (`kill(lands)`).
 */
function pageStore(disk: Disk, random: () => number): { store: SessionStore; kill(lands: boolean): void } {
  let dead = false;
  let current: (() => void) | undefined; // commits the operation under way
  let writing = false; // ...which is a write
  const op = <T>(commit: () => T, write = true): Promise<T> => {
    let done!: (v: T) => void;
    const answer = new Promise<T>((resolve) => (done = resolve));
    disk.tail = disk.tail.then(
      () =>
        new Promise<void>((next) => {
          if (dead) return next();
          writing = write;
          current = () => {
            current = undefined;
            done(commit());
          };
          setTimeout(() => {
            if (!dead) current?.();
            next();
          }, random() * 30);
        }),
    );
    return answer;
  };
  return {
    store: {
      load: (k) =>
        op(() => {
          const text = disk.data.get(k);
          return text === undefined ? undefined : (JSON.parse(text) as SessionSnapshot);
        }, false),
      save: (k, s) => {
        const text = JSON.stringify(s);
        return op(() => {
          disk.data.set(k, text);
          disk.landed(text);
        });
      },
      remove: (k) => op(() => void disk.data.delete(k)),
      // The pages follow each other in one process, where Node 24's Web Locks are per process: as
      // a store shared by tabs, a dead page, never closed, would keep its lock from the next.
      perTab: true,
    },
    kill(lands) {
      const c = current;
      current = undefined;
      // A write under way lands, or not; a load under way just never answers (the page is gone).
      if (lands && writing && c) c();
      dead = true;
    },
  };
}

interface Page {
  readonly id: number;
  readonly c: RealtimeClient<Numbered, Numbered>;
  readonly proxy: TcpProxy;
  alive: boolean;
  /** How many queued entries the last timer callback took out of the queue. */
  withdrewByTimer: number;
  /** Wall-clock times of this page's deliveries, by session and number. */
  deliveredAt: Map<string, number>;
  die(): void;
  network(up: boolean): void;
}

describe.each([
  [1, 'websocket'],
  [2, 'longpoll'],
  [3, 'websocket'],
] as const)('async-store chaos, seed %i, on %s', (seed, transport: TransportName) => {
  it(`${N} numbered messages each way through ${STEPS} faults on an IndexedDB-like store, with aborts, timeouts, TTL and close()`, async () => {
    const random = seeded(seed * 7_919 + SHIFT * 104_729);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const s = await server({ sessionGraceMs: 600_000 });

    // Server side: client numbers in arrival order; requests run once each.
    const { atServer, runs } = numberRequests(s.rt);
    let sessions = 0;
    let stopped = false;
    defer(() => void (stopped = true));
    s.rt.on('connection', (session) => {
      const tag = ++sessions;
      session.on('n', (v) => atServer.push(v.n));
      let next = 1;
      const timer = setInterval(() => {
        try {
          session.send('n', { n: next, s: tag } as Tagged);
          if (++next > N) clearInterval(timer);
        } catch {
          clearInterval(timer); // the session ended (close())
        }
      }, 20);
      defer(() => clearInterval(timer));
    });

    // Client side: pages, one alive at a time, on one shared IndexedDB-like store.
    /** Client numbers some completed write stored: a page that died may lose only the others. */
    const persisted = new Set<number>();
    const disk: Disk = {
      data: new Map(),
      tail: Promise.resolve(),
      landed(text) {
        for (const e of (JSON.parse(text) as SessionSnapshot).outbound.entries)
          persisted.add((e.data as { n: number }).n);
        for (const w of withdrawnAt.values()) if (w.page.alive) w.written = true;
      },
    };
    /** Which page sent each client number. */
    const sentBy = new Map<number, Page>();
    /** Pages made right after a close(): they may adopt the closed session, which the server ended. */
    const afterClose = new Set<number>();
    /** Server numbers received by live pages: page, session tag, number. */
    const received: { page: number; s: number; n: number }[] = [];
    /** Opens, in order. */
    const opens: { page: number; resumed: boolean }[] = [];
    /** Resumes that met a gap ('gap before'): the server was told of more than the store held. */
    const gaps: string[] = [];
    /** Client numbers the app was told of, and how. */
    const expired = new Set<number>();
    const unconfirmed = new Set<number>(); // close()'s list, an error's `undelivered`
    const withdrawn = new Set<number>(); // requests aborted or timed out while still queued
    /** Withdrawals, and whether a write landed after them while their page was alive. */
    const withdrawnAt = new Map<number, { page: Page; written: boolean }>();
    const settled = new Map<number, string[]>();
    const errors: string[] = [];
    const deaths: { page: Page; at: number }[] = [];
    const counts: Record<Fault, number> = { cut: 0, handshake: 0, reload: 0, quick: 0, offline: 0, close: 0 };
    let pages = 0;
    const allPages = new Map<number, Page>();

    const newPage = async (offline = false): Promise<Page> => {
      const proxy = await TcpProxy.start(s.port);
      defer(() => proxy.close());
      const win = new EventTarget();
      const navigator = { onLine: !offline };
      const time = pageClock((fn) => {
        const before = p.c.queued;
        fn();
        p.withdrewByTimer = before - p.c.queued;
      });
      const store = pageStore(disk, random);
      const c = client(`ws://127.0.0.1:${proxy.port}/realtime`, {
        transports: [transport],
        SockJS,
        upgrade: false,
        rememberTransport: false,
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
        lifecycle: { window: win, navigator },
        clock: time.clock,
        queue: { storage: store.store, storageKey: 'chaos-async', maxMessages: 100_000, ttlMs: TTL_MS },
      });
      const p: Page = {
        id: ++pages,
        c,
        proxy,
        alive: true,
        withdrewByTimer: 0,
        deliveredAt: new Map(),
        network(up) {
          navigator.onLine = up;
          win.dispatchEvent(new Event(up ? 'online' : 'offline'));
        },
        die() {
          // The page's last chance to store its session (a write that only starts now), then nothing.
          win.dispatchEvent(new Event('pagehide'));
          p.alive = false;
          time.kill();
          store.kill(random() < 0.5);
          proxy.mode = 'blackhole';
          if (random() < 0.7) proxy.cut();
        },
      };
      allPages.set(p.id, p);
      c.on('n', (v) => {
        if (!p.alive) return;
        const t = v as unknown as Tagged;
        received.push({ page: p.id, s: t.s, n: t.n });
        p.deliveredAt.set(`${t.s}:${t.n}`, Date.now());
      });
      c.on('open', ({ resumed }) => p.alive && opens.push({ page: p.id, resumed }));
      c.on('queue:expired', ({ expired: list }) => {
        if (p.alive) for (const m of list) expired.add((m.data as { n: number }).n);
      });
      c.on('error', (e) => {
        if (!p.alive) return;
        errors.push(`${p.id}: ${e.name}: ${e.message}`);
        if (e.message.startsWith('gap before')) gaps.push(`${p.id}: ${e.message}`);
        const lost = (e as { undelivered?: readonly { data: unknown }[] }).undelivered ?? [];
        for (const m of lost) unconfirmed.add((m.data as { n: number }).n);
      });
      return p;
    };

    let page = await newPage();
    await page.c.waitFor('open', { timeoutMs: 8000 });

    // Client → server: one number every 25 ms on the page alive now; every fourth is a request,
    // some with a short timeout, some with a signal aborted at a random moment.
    let out = 1;
    let dropped = 0;
    const withdraw = (n: number, p: Page): void => {
      withdrawn.add(n);
      withdrawnAt.set(n, { page: p, written: false });
    };
    const pump = setInterval(() => {
      if (out > N) return clearInterval(pump);
      const n = out++;
      const p = page;
      sentBy.set(n, p);
      if (n % REQUEST_EVERY) {
        if (p.c.send('n', { n }) === 'dropped') dropped++;
        return;
      }
      const note = (how: string): void => void (p.alive && settled.set(n, [...(settled.get(n) ?? []), how]));
      const kind = random();
      const ac = new AbortController();
      const timeoutMs = kind < 0.25 ? 20 + random() * 300 : 60_000;
      p.c.request<{ n: number }>('r', { n }, { timeoutMs, signal: ac.signal }).then(
        (r) => note(r.n === n ? 'ok' : `answered ${r.n}`),
        (e: Error) => {
          // A timeout's callback ran just before this (same task): did it take the request out?
          if (e.name === 'TimeoutError' && !e.message.includes('expired') && p.withdrewByTimer > 0) withdraw(n, p);
          note(e.name);
        },
      );
      if (kind > 0.75) {
        const t = setTimeout(() => {
          if (!p.alive) return;
          const before = p.c.queued;
          ac.abort();
          if (p.c.queued < before) withdraw(n, p);
        }, random() * 200);
        defer(() => clearTimeout(t));
      }
    }, 25);
    defer(() => clearInterval(pump));

    const replace = async (offline: boolean): Promise<void> => {
      const dead = page;
      dead.die();
      deaths.push({ page: dead, at: Date.now() });
      page = await newPage(offline);
    };

    // The schedule: STEPS faults, each after a seeded pause, every wait bounded.
    for (let step = 0; step < STEPS && !stopped; step++) {
      await sleep(150 + random() * 450);
      const fault = pick<Fault>(['cut', 'handshake', 'reload', 'reload', 'quick', 'offline', 'offline', 'close']);
      if (fault === 'cut') {
        page.proxy.cut();
      } else if (fault === 'handshake') {
        page.proxy.cut();
        await within(5000, (done) => page.c.on('state', ({ to }) => to === 'connecting' && done()));
        await sleep(random() * 15);
        page.proxy.cut();
      } else if (fault === 'reload') {
        await replace(false);
      } else if (fault === 'quick') {
        // Reloads in quick succession: each page dies 0-40 ms after it started, during its load
        // or its first writes.
        const times = 1 + Math.floor(random() * 3);
        for (let i = 0; i < times; i++) {
          await replace(false);
          await sleep(random() * 40);
        }
        await replace(false);
      } else if (fault === 'offline') {
        // The network goes down for long enough that part of the queue expires; the page may
        // reload meanwhile (the next one loads offline).
        page.network(false);
        const reloads = Math.floor(random() * 3);
        for (let i = 0; i < reloads; i++) {
          await sleep(random() * 300);
          await replace(true);
        }
        await sleep(200 + random() * 500);
        page.network(true);
      } else {
        // close() mid-flood, then a new client on the same store: a new session, unless it adopts
        // the closed one (Persistence.clear(): a write of it under way; or the closed client never
        // read the store, which it then leaves to the next one) while the server still keeps it (no
        // goodbye got through). Then, as after a reload, it may get again what the closed page
        // delivered in its last acknowledgement window: the close counts as that page's death.
        const closed = page;
        const list = closed.c.close();
        for (const m of list) unconfirmed.add((m.data as { n: number }).n);
        closed.alive = false;
        deaths.push({ page: closed, at: Date.now() });
        page = await newPage();
        afterClose.add(page.id);
      }
      counts[fault]++;
    }

    // The end: everything sent, the live page open (after a last close() the new page's session is
    // decided only then: it may start a new one once the last already reached N), the last session's
    // stream complete, the live page's requests settled.
    await until(
      () => out > N && page.c.state === 'open' && received.some((r) => r.s === sessions && r.n === N),
      30_000,
    );
    const live = page;
    const liveRequests = [...sentBy].filter(([n, p]) => p === live && n % REQUEST_EVERY === 0).map(([n]) => n);
    await until(() => liveRequests.every((n) => settled.has(n)), 10_000);
    await sleep(1000); // what is still queued goes out; anything extra would show up as a duplicate

    // Client → server.
    const arrivals = new Map<number, number>();
    for (const n of atServer) arrivals.set(n, (arrivals.get(n) ?? 0) + 1);
    const twice = [...arrivals].filter(([, k]) => k > 1).map(([n]) => n);
    const unordered = atServer.filter((n, i) => i > 0 && n <= (atServer[i - 1] as number));
    const told = (n: number): boolean =>
      expired.has(n) || unconfirmed.has(n) || (settled.get(n) ?? []).some((h) => h !== 'ok');
    const silent: number[] = [];
    // A page that died may take with it what no completed write held (never transmitted, either).
    const diedWith = (n: number): boolean => !persisted.has(n) && sentBy.get(n)?.alive === false;
    for (let n = 1; n <= N; n++) if (!arrivals.has(n) && !told(n) && !diedWith(n)) silent.push(n);
    const expiredArrived = [...expired].filter((n) => arrivals.has(n));
    // A withdrawn request may be sent by the next page only when its page died before a write after
    // the withdrawal completed: the stored session still held it (see the report of this test).
    const withdrawnRan = [...withdrawn].filter(
      (n) => runs.has(n) && !(withdrawnAt.get(n)?.written === false && !withdrawnAt.get(n)?.page.alive),
    );
    const resurrected = [...withdrawn].filter((n) => runs.has(n)).length;
    const badAnswers = [...settled].filter(
      ([, how]) => how.length !== 1 || (how[0] !== 'ok' && how[0]?.startsWith('answered')),
    );
    const okNotRun = [...settled].filter(([n, how]) => how[0] === 'ok' && runs.get(n) !== 1);

    // Server → client: per session, per page, consecutive; a new page starts right after what it
    // loaded, never past what was delivered before.
    const problems: string[] = [];
    let maxWindow = 0;
    let maxWindowMs = 0;
    const bySession = new Map<number, { page: number; n: number }[]>();
    for (const r of received) bySession.set(r.s, [...(bySession.get(r.s) ?? []), r]);
    for (const [tag, list] of bySession) {
      let highest = 0;
      for (let i = 0; i < list.length; i++) {
        const r = list[i] as { page: number; n: number };
        const prev = list[i - 1];
        if (prev && prev.page === r.page) {
          if (r.n !== prev.n + 1) problems.push(`session ${tag}, page ${r.page}: ${prev.n} then ${r.n}`);
        } else if (prev) {
          if (r.n > highest + 1) problems.push(`session ${tag}: page ${r.page} starts at ${r.n} after ${highest}`);
          if (r.n <= highest) {
            // Delivered again: only what the dead page delivered in its last acknowledgement window.
            maxWindow = Math.max(maxWindow, highest - r.n + 1);
            const death = deaths.find((d) => d.page.id === prev.page);
            const first = death?.page.deliveredAt.get(`${tag}:${r.n}`);
            if (!death || first === undefined) problems.push(`session ${tag}: page ${r.page} repeats ${r.n}`);
            else if (death.at - first > WINDOW_MS)
              problems.push(
                `session ${tag}: page ${r.page} repeats ${r.n}, delivered ${death.at - first} ms before the reload`,
              );
            else maxWindowMs = Math.max(maxWindowMs, death.at - first);
          }
        }
        highest = Math.max(highest, r.n);
      }
      if (tag === sessions && highest !== N) problems.push(`session ${tag} ends at ${highest}`);
    }

    console.log(
      `seed ${seed}+${SHIFT} (${transport}): ${JSON.stringify(counts)}, ${pages} pages, ${sessions} sessions, ` +
        `${opens.length} opens; client: ${expired.size} expired, ${withdrawn.size} withdrawn (${resurrected} run by the next page), ` +
        `${unconfirmed.size} unconfirmed; ` +
        `server → client re-delivered after reloads: up to ${maxWindow} (${maxWindowMs} ms before the death); ` +
        `${gaps.length} gaps`,
    );
    expect(dropped).toBe(0);
    expect({ twice, unordered, silent, expiredArrived, withdrawnRan, badAnswers, okNotRun }).toEqual({
      twice: [],
      unordered: [],
      silent: [],
      expiredArrived: [],
      withdrawnRan: [],
      badAnswers: [],
      okNotRun: [],
    });
    expect(problems).toEqual([]);
    expect(liveRequests.filter((n) => !settled.has(n))).toEqual([]);
    // Sessions end only by close(): a new one opens only on the first page and on a page made
    // right after close() (which may adopt the closed session when a write was under way). No
    // resume meets a gap: the client acknowledges only server messages whose count is stored.
    expect(gaps).toEqual([]);
    expect(opens.filter((o) => !o.resumed && o.page !== 1 && !afterClose.has(o.page))).toEqual([]);
    expect(live.alive).toBe(true);
  }, 120_000);
});
