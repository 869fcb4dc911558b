/**
 * A token bucket for a session's request rate: it refills continuously at `perSecond` and holds at
 * most `burst`, so a client may make `burst` requests at once and `perSecond` on average. A
 * request that finds it empty is refused at once (never queued), so a flood costs the server one
 * small response per request and runs no handler.
 */
import type { Clock } from '../util/clock.js';
import type { RateLimit } from './options.js';

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
