/**
 * Shared pieces of the fault-injection suite: a server behind a TcpProxy, clients for each
 * transport, the lost/duplicated/reordered verdict and a seeded random source (a failing run
 * repeats with the same cut times).
 */
import SockJSClient from 'sockjs-client';
import type { ClientOptions } from '../../src/client/options.js';
import type { SockJSConstructor, TransportName } from '../../src/transports/transport.js';
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

/** Checks a received sequence: 1..n exactly once, in order. */
export function verdict(got: readonly number[], n: number): { lost: number; duplicated: number; reordered: number } {
  let lost = 0;
  let duplicated = 0;
  let reordered = 0;
  const seen = new Set<number>();
  for (const [i, v] of got.entries()) {
    if (seen.has(v)) duplicated++;
    else if (i > 0 && v < (got[i - 1] as number)) reordered++;
    seen.add(v);
  }
  for (let i = 1; i <= n; i++) if (!seen.has(i)) lost++;
  return { lost, duplicated, reordered };
}

/** Sends 1..total in bursts on a timer, so cuts land mid-stream; returns a stop function. */
export function pump(send: (n: number) => void, total: number, perTick: number, everyMs = 10): () => void {
  let next = 1;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick && next <= total; i++) send(next++);
    if (next > total) clearInterval(timer);
  }, everyMs);
  return () => clearInterval(timer);
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
