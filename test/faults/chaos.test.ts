/**
 * Combined faults: while both sides stream numbered messages (client → server by `send` and, one
 * in seven, by `request`; server → client by `session.send`), a seeded schedule mixes TCP cuts,
 * WebSocket made unreachable and reachable again (the client falls back, then its upgrade probe
 * moves it back), cuts that land during a handshake or an upgrade probe, and page reloads (the page
 * dies without `close()`, a new client on the same storage takes over; or the network goes down,
 * and the page reloads once to three times before it is back). Each side still receives 1..N
 * exactly once and in order, every request is run once by the server, every request of the last
 * page is resolved, each by its own response, and the session is never lost. `CHAOS_SEED=k` shifts the four seeds, to try other schedules.
 */
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import type { TransportName, WebSocketConstructor } from '../../src/transports/transport.js';
import { until } from '../helpers/harness.js';
import { memoryStorage } from '../helpers/memory-storage.js';
import { NodeWebSocket } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import {
  type Numbered,
  SockJS,
  numberRequests,
  pageClock,
  seeded,
  sleep,
  useFaults,
  verdict,
  within,
} from './helpers.js';

const { server, client, defer } = useFaults();

const N = 1200;
const STEPS = 24;
const REQUEST_EVERY = 7;
const SHIFT = Number(process.env.CHAOS_SEED ?? 0);
type Fault = 'cut' | 'websocket' | 'handshake' | 'probe' | 'reload';

/** One page's view of a localStorage shared by every page: a dead page writes nothing. */
function pageStorage(shared: Map<string, string>): { storage: Storage; kill(): void } {
  let dead = false;
  return { storage: memoryStorage(shared, () => !dead), kill: () => void (dead = true) };
}

interface Page {
  readonly c: RealtimeClient<Numbered, Numbered>;
  readonly proxy: TcpProxy;
  alive: boolean;
  die(): void;
  /** The browser's network goes down or comes back (`navigator.onLine`, `offline` / `online`). */
  network(up: boolean): void;
}

describe.each([
  [1, 'sockjs'],
  [2, 'longpoll'],
  [3, 'sockjs'],
  [4, 'longpoll'],
] as const)('chaos, seed %i, falling back to %s', (seed, fallback: TransportName) => {
  it(`${N} numbered messages each way through ${STEPS} mixed faults: 0 lost, 0 duplicated, 0 reordered, one session`, async () => {
    const random = seeded(seed * 104_729 + SHIFT);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const s = await server({ sessionGraceMs: 600_000 });

    // Server side: every client number (event or request) in arrival order; requests run once each.
    const { atServer, runs } = numberRequests(s.rt);
    let sessions = 0;
    let stopped = false;
    defer(() => void (stopped = true));
    s.rt.on('connection', (session) => {
      sessions++;
      session.on('n', (v) => atServer.push(v.n));
      let next = 1;
      const timer = setInterval(() => {
        for (let i = 0; i < 2 && next <= N; i++) session.send('n', { n: next++ });
        if (next > N) clearInterval(timer);
      }, 10);
      defer(() => clearInterval(timer));
    });

    // Client side: pages, one alive at a time, on one shared localStorage.
    const shared = new Map<string, string>();
    const atClient: number[] = [];
    const opens: boolean[] = [];
    const switches: string[] = [];
    /** Request number → how it settled, while its page was alive. */
    const settled = new Map<number, string[]>();
    const requested: { n: number; page: Page }[] = [];
    let probes = 0;
    let onProbe: (() => void) | undefined;
    const counts: Record<Fault, number> = { cut: 0, websocket: 0, handshake: 0, probe: 0, reload: 0 };

    const newPage = async (offline = false): Promise<Page> => {
      const proxy = await TcpProxy.start(s.port);
      defer(() => proxy.close());
      const time = pageClock();
      const store = pageStorage(shared);
      const win = new EventTarget();
      const navigator = { onLine: !offline };
      // A WebSocket made while open on the fallback is the upgrade probe.
      const Probed = class extends NodeWebSocket {
        constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
          super(...args);
          // (`p` is set by then: the client connects a microtask after it is made.)
          if (p.alive && p.c.state === 'open' && p.c.transport !== 'websocket') {
            probes++;
            onProbe?.();
          }
        }
      } as WebSocketConstructor;
      const c = client(`ws://127.0.0.1:${proxy.port}/realtime`, {
        transports: ['websocket', fallback],
        SockJS,
        WebSocket: Probed,
        rememberTransport: false,
        upgrade: { initialDelayMs: 40, maxDelayMs: 160 },
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
        lifecycle: { window: win, navigator },
        clock: time.clock,
        queue: {
          // The pages follow each other in one process, where Node 24's Web Locks are per process: as
          // a store shared by tabs, a dead page, never closed, would keep its lock from the next.
          storage: { ...webStorageStore(store.storage), perTab: true },
          storageKey: 'chaos',
          maxMessages: 100_000,
          overflow: 'error',
        },
      });
      const p: Page = {
        c,
        proxy,
        alive: true,
        network(up) {
          navigator.onLine = up;
          win.dispatchEvent(new Event(up ? 'online' : 'offline'));
        },
        die() {
          // The page's last chance to store its session, then nothing: no timer, no write, no byte.
          win.dispatchEvent(new Event('pagehide'));
          p.alive = false;
          time.kill();
          store.kill();
          proxy.mode = 'blackhole';
          if (random() < 0.7) proxy.cut(); // else its connections stay half-open, as a crashed tab's may
        },
      };
      c.on('n', (v) => p.alive && atClient.push(v.n));
      c.on('open', ({ resumed }) => p.alive && opens.push(resumed));
      c.on('transport', ({ to }) => p.alive && switches.push(to));
      return p;
    };

    let page = await newPage();
    await page.c.waitFor('open', { timeoutMs: 8000 });

    // Client → server: two numbers every 10 ms on the page alive now; every seventh is a request.
    let out = 1;
    let dropped = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 2 && out <= N; i++) {
        const n = out++;
        const p = page;
        if (n % REQUEST_EVERY) {
          if (p.c.send('n', { n }) === 'dropped') dropped++;
          continue;
        }
        requested.push({ n, page: p });
        const note = (how: string): void => void (p.alive && settled.set(n, [...(settled.get(n) ?? []), how]));
        p.c.request<{ n: number }>('r', { n }, { timeoutMs: 60_000 }).then(
          (r) => note(r.n === n ? 'ok' : `answered ${r.n}`),
          (e: Error) => note(e.name),
        );
      }
      if (out > N) clearInterval(pump);
    }, 10);
    defer(() => clearInterval(pump));

    // The schedule: STEPS faults, each after a seeded pause, every wait bounded.
    let blocked = false;
    for (let step = 0; step < STEPS && !stopped; step++) {
      await sleep(60 + random() * 240);
      const fault = pick<Fault>(['cut', 'cut', 'websocket', 'handshake', 'probe', 'reload']);
      const { proxy } = page;
      if (fault === 'cut') {
        proxy.cut();
      } else if (fault === 'websocket') {
        // Unreachable: cut, and the reconnect falls back. Reachable: the probe moves it back.
        blocked = !blocked;
        proxy.mode = blocked ? 'refuse-upgrade' : 'forward';
        if (blocked) proxy.cut();
        const want = (t: string | null): boolean => (blocked ? t === fallback : t === 'websocket');
        await until(() => want(page.c.transport), 10_000);
      } else if (fault === 'handshake') {
        // Cut, then cut the reconnect's handshake a few ms into it.
        proxy.cut();
        await within(5000, (done) => page.c.on('state', ({ to }) => to === 'connecting' && done()));
        await sleep(random() * 15);
        proxy.cut();
      } else if (fault === 'probe') {
        // On the fallback with WebSocket reachable again: cut the link as the next probe starts.
        if (!blocked) {
          proxy.mode = 'refuse-upgrade';
          proxy.cut();
          await until(() => page.c.transport === fallback, 10_000);
          proxy.mode = 'forward';
        } else {
          proxy.mode = 'forward';
        }
        blocked = false;
        const came = await within(3000, (done) => ((onProbe = done), () => (onProbe = undefined)));
        if (!came) continue; // the probe never came: not counted
        await sleep(random() * 10);
        page.proxy.cut();
      } else {
        // Reload: the page dies without close(); the next one resumes the stored session, at once,
        // or once the network is back when it went down first (the next page loads offline and
        // sends meanwhile; it may reload again before the network is back).
        const reloads = random() < 0.5 ? 1 : 1 + Math.ceil(random() * 2);
        if (reloads > 1) page.network(false);
        for (let i = 0; i < reloads; i++) {
          page.die();
          page = await newPage(reloads > 1);
          page.proxy.mode = blocked ? 'refuse-upgrade' : 'forward';
          if (reloads > 1) await sleep(50 + random() * 150);
        }
        if (reloads > 1) page.network(true);
        counts.reload += reloads - 1;
      }
      counts[fault]++;
    }

    page.proxy.mode = 'forward';
    await until(() => out > N && atServer.length >= N && atClient.length >= N, 30_000);
    const live = requested.filter((r) => r.page === page);
    await until(() => live.every((r) => settled.has(r.n)), 10_000);
    await sleep(300); // anything extra would show up as a duplicate now

    console.log(
      `seed ${seed}+${SHIFT} (${fallback}): ${JSON.stringify(counts)}, ${probes} probes, ${opens.length} opens, ` +
        `${switches.filter((t) => t === 'websocket').length} switches to websocket, ${requested.length} requests`,
    );
    expect(dropped).toBe(0);
    expect(verdict(atServer, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(verdict(atClient, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    // Every request ran once; each one settled at most once, by its own response, and all of the
    // last page's did (a dead page's may have died waiting).
    expect(requested.filter((r) => runs.get(r.n) !== 1)).toEqual([]);
    const answers = requested.flatMap((r) => (settled.has(r.n) ? [{ ...r, how: settled.get(r.n) as string[] }] : []));
    expect(answers.filter((r) => r.how.length !== 1 || r.how[0] !== 'ok')).toEqual([]);
    expect(live.filter((r) => !settled.has(r.n))).toEqual([]);
    // One session throughout: only the first open is a new one.
    expect(sessions).toBe(1);
    expect(s.rt.sessions.size).toBe(1);
    expect(opens[0]).toBe(false);
    expect(opens.slice(1).every((resumed) => resumed)).toBe(true);
  }, 90_000);
});
