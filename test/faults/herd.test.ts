/**
 * 500 clients lose their connections at the same instant. With full jitter (the default) their
 * reconnection attempts spread over the first backoff window instead of arriving together: the
 * peak number of attempts in any 100 ms stays far below what the same clients would do without
 * jitter, where all 500 land in one bucket.
 */
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import { exponentialBackoff } from '../../src/client/retry.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { untilWhileProgressing } from '../helpers/harness.js';
import { type Numbered, useFaults } from './helpers.js';

const { proxied, client } = useFaults();

const CLIENTS = 500;
const BUCKET_MS = 100;
const INITIAL_DELAY_MS = 1000;
/** 40% of the clients in one 100 ms bucket: full jitter expects ~10% (50); no jitter gives 100%. */
const PEAK_BOUND = 0.4 * CLIENTS;

/** Attempts per 100 ms bucket, counted from `t0`. */
function buckets(times: readonly number[], t0: number): number[] {
  const counts: number[] = [];
  for (const t of times) {
    const i = Math.max(0, Math.floor((t - t0) / BUCKET_MS));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return Array.from(counts, (n) => n ?? 0);
}

/** The system clock, telling the delay of the timer whose callback runs right now (callbacks never nest). */
function timerClock(): { clock: Clock; running: () => number | undefined } {
  let running: number | undefined;
  const clock: Clock = {
    ...systemClock,
    setTimeout: (fn, ms) =>
      systemClock.setTimeout(() => {
        running = ms;
        try {
          fn();
        } finally {
          running = undefined;
        }
      }, ms),
  };
  return { clock, running: () => running };
}

describe('thundering herd', () => {
  it(`${CLIENTS} clients cut at once spread their reconnection attempts by jitter`, async () => {
    const { s, proxy, url } = await proxied();
    const { clock, running } = timerClock();
    const clients: RealtimeClient<Numbered, Numbered>[] = [];
    // Open in batches, so the setup itself is not a storm.
    for (let i = 0; i < CLIENTS; i += 50) {
      const batch = Array.from({ length: Math.min(50, CLIENTS - i) }, () =>
        client(url, {
          transports: ['websocket'],
          rememberTransport: false,
          reconnect: { initialDelayMs: INITIAL_DELAY_MS },
          clock,
        }),
      );
      await Promise.all(batch.map((c) => c.waitFor('open', { timeoutMs: 20_000 })));
      clients.push(...batch);
    }
    expect(s.rt.sessions.size).toBe(CLIENTS);

    // Each first retry's delay, counted from the moment its client saw the drop: on a loaded
    // machine the 500 closes take this process a second or more to go through, which would shift
    // plans counted from the cut out of the first window while their jitter is as it should be.
    const scheduled: number[] = [];
    const reopened: number[] = [];
    // Per client: its first retry's planned delay, and the delay of the timer that started it.
    const firstRetries: { planned?: number; firedBy?: number | undefined }[] = [];
    let retries = 0; // every retry, not only each client's first: progress for the wait below
    for (const c of clients) {
      const first: (typeof firstRetries)[number] = {};
      firstRetries.push(first);
      c.on('reconnecting', () => retries++);
      c.once('reconnecting', ({ delayMs }) => scheduled.push((first.planned = delayMs)));
      c.on('state', ({ to, reason }) => {
        if (to === 'connecting' && reason === 'retry #1') first.firedBy = running();
      });
      c.once('open', () => reopened.push(performance.now()));
    }
    const acceptedBefore = proxy.acceptedAt.length;
    const t0 = performance.now();
    proxy.cut();
    // 500 handshakes and resumes take this process several times longer on a loaded machine: wait
    // as long as clients keep coming back, and fail on a stall, not on a wall-clock deadline. A
    // client whose retry failed may wait out a backoff of up to 30 s (the default maxDelayMs).
    await untilWhileProgressing(
      () => reopened.length === CLIENTS,
      () =>
        `${reopened.length}/${CLIENTS} reopened, ${retries} retries, ` +
        `${proxy.acceptedAt.length - acceptedBefore} connections accepted`,
      35_000,
    );
    const attempts = proxy.acceptedAt.slice(acceptedBefore);

    const planned = buckets(scheduled, 0);
    const actual = buckets(attempts, t0);
    // The same 500 clients without jitter: every first retry waits exactly initialDelayMs.
    const noJitter = exponentialBackoff({ initialDelayMs: INITIAL_DELAY_MS, jitter: 'none' });
    const unjittered = buckets(
      clients.map(() => t0 + (noJitter({ attempt: 1, elapsedMs: 0, reason: 'close 1006' }) ?? 0)),
      t0,
    );
    const peak = (b: number[]) => Math.max(...b);
    console.log(
      `herd: ${CLIENTS} clients; attempts per ${BUCKET_MS} ms, planned: [${planned.join(' ')}] peak ${peak(planned)}; ` +
        `at the proxy: [${actual.join(' ')}] peak ${peak(actual)}; without jitter the peak would be ${peak(unjittered)}`,
    );

    expect(scheduled).toHaveLength(CLIENTS);
    expect(attempts.length).toBeGreaterThanOrEqual(CLIENTS);
    expect(peak(planned)).toBeLessThan(PEAK_BOUND);
    // The attempts follow the plan: each client's first retry started when the timer of its own
    // planned delay fired, not earlier, nor from anything else. Told by the timer, not by arrival
    // times at the proxy (printed above), which carry this process's scheduling: a loaded machine
    // bunches them.
    expect(firstRetries.filter((r) => r.planned === undefined || r.firedBy !== r.planned)).toEqual([]);
    expect(peak(unjittered)).toBeGreaterThanOrEqual(PEAK_BOUND); // the bound would catch a missing jitter
    // Spread over the whole first window, not bunched at its start.
    expect(planned.slice(0, INITIAL_DELAY_MS / BUCKET_MS).filter((n) => n > 0).length).toBeGreaterThanOrEqual(8);
    expect(s.rt.sessions.size).toBe(CLIENTS); // every one resumed its session
  }, 300_000); // a backstop: about 3 s unloaded; the waits fail on a stall
});
