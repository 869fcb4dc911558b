/**
 * Shared pieces of the fault-injection suite: a server behind a TcpProxy, clients for each
 * transport, the lost/duplicated/reordered verdict and a seeded random source (a failing run
 * repeats with the same cut times).
 */
import SockJSClient from 'sockjs-client';
import type { ClientOptions } from '../../src/client/options.js';
import type { RealtimeServer } from '../../src/server/index.js';
import type { SockJSConstructor, TransportName } from '../../src/transports/transport.js';
import type { Clock } from '../../src/util/clock.js';
import { useHarness } from '../helpers/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/** Event map of the numbered streams: event `n` carries `{ n }`. */
export type Numbered = { n: { n: number } };

export const SockJS: SockJSConstructor = SockJSClient;

export const TRANSPORTS: readonly TransportName[] = ['websocket', 'sockjs', 'longpoll'];

/** Client options that pin one transport (no fallback, no upgrade probe) and retry fast. */
export function only(transport: TransportName, extra: ClientOptions = {}): ClientOptions {
  return { transports: [transport], upgrade: false, rememberTransport: false, SockJS, ...extra };
}

/** A harness whose servers can sit behind a fault-injecting proxy. */
export { pump, verdict } from '../helpers/numbered.js';

export function useFaults() {
  const h = useHarness<Numbered, Numbered>({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
  return {
    ...h,
    async proxied(options: Parameters<typeof h.server>[0] = {}) {
      const s = await h.server(options);
      const proxy = await TcpProxy.start(s.port);
      h.defer(() => proxy.close());
      return { s, proxy, url: `ws://127.0.0.1:${proxy.port}/realtime` };
    },
  };
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `arm`'s callback is called or `ms` passed (then false); `arm` returns its disarm,
 * which runs either way, and no timer is left behind.
 */
export function within(ms: number, arm: (done: () => void) => () => void): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (hit: boolean): void => {
      clearTimeout(timer);
      disarm();
      resolve(hit);
    };
    const timer = setTimeout(() => finish(false), ms);
    const disarm = arm(() => finish(true));
  });
}

/**
 * A page's clock for the chaos tests: its timers all stop for good when the page dies (`kill`), as
 * a dead page runs nothing. `after` runs each timer's callback (to observe what it did).
 */
export function pageClock(after: (ran: () => void) => void = (ran) => ran()): { clock: Clock; kill(): void } {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let dead = false;
  return {
    clock: {
      now: () => Date.now(),
      setTimeout(fn, ms) {
        if (dead) return undefined;
        const t = setTimeout(() => {
          timers.delete(t);
          after(fn);
        }, ms);
        timers.add(t);
        return t;
      },
      clearTimeout(t) {
        clearTimeout(t as ReturnType<typeof setTimeout>);
        timers.delete(t as ReturnType<typeof setTimeout>);
      },
    },
    kill() {
      dead = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/**
 * The server's side of the chaos tests' client stream: requests `r` carrying `{ n }` answer
 * `{ n }` and count how often each ran; their numbers go to `atServer` in arrival order, where the
 * caller's `n` events go too.
 */
export function numberRequests(rt: RealtimeServer<Numbered, Numbered, unknown>): {
  atServer: number[];
  runs: Map<number, number>;
} {
  const atServer: number[] = [];
  const runs = new Map<number, number>();
  rt.handle('r', (data) => {
    const n = (data as { n: number }).n;
    atServer.push(n);
    runs.set(n, (runs.get(n) ?? 0) + 1);
    return { n };
  });
  return { atServer, runs };
}
