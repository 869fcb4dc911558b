/**
 * What a session lets its client's requests do: run at a bounded rate, and only so many at once.
 *
 * A token bucket for a session's request rate: it refills continuously at `perSecond` and holds at
 * most `burst`, so a client may make `burst` requests at once and `perSecond` on average. A
 * request that finds it empty is refused at once (never queued), so a flood costs the server one
 * small response per request and runs no handler.
 */
import type { Clock } from '../util/clock.js';
import type { RateLimit } from './options.js';
import { busy, rateLimited, type RequestOutcome } from './requests.js';

export class TokenBucket {
  readonly #clock: Clock;
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(clock: Clock, limit: RateLimit) {
    this.#clock = clock;
    this.#perMs = limit.perSecond / 1000;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#at = clock.now();
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    const now = this.#clock.now();
    // A wall clock set back refills nothing rather than draining the bucket.
    this.#tokens = Math.min(this.#burst, this.#tokens + Math.max(0, now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * Which of a session's requests may run: at most `maxRunning` handlers at once (`BUSY` beyond),
 * at `rate` unless it is `false` (`RATE_LIMITED`). Busy is checked first, so a request
 * that does not run takes nothing from the rate.
 */
export class RequestGate {
  readonly #maxRunning: number;
  readonly #bucket: TokenBucket | undefined;
  #running = 0;

  constructor(clock: Clock, maxRunning: number, rate: RateLimit | false) {
    this.#maxRunning = maxRunning;
    this.#bucket = rate ? new TokenBucket(clock, rate) : undefined;
  }

  /** Why request `name` may not run now, else `undefined` (then `run` it). */
  refuse(name: string): RequestOutcome | undefined {
    if (this.#running >= this.#maxRunning) return busy(name, this.#running);
    return this.#bucket && !this.#bucket.take() ? rateLimited(name) : undefined;
  }

  /** Counts `outcome`'s handler as running until it settles. */
  run(outcome: Promise<RequestOutcome>): Promise<RequestOutcome> {
    this.#running++;
    return outcome.finally(() => this.#running--);
  }
}
