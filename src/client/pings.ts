import type { SurelinkError } from '../errors/base.js';
import { TimeoutError } from '../errors/timeout.js';
import type { Clock, TimerHandle } from '../util/clock.js';

interface Waiter {
  readonly ts: number;
  readonly resolve: (rtt: number) => void;
  readonly reject: (error: SurelinkError) => void;
  readonly timer: TimerHandle;
}

/** `ping()` calls waiting for their pong; a pong answers every ping sent with its timestamp. */
export class PingWaiters {
  readonly #clock: Clock;
  #waiters: Waiter[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  wait(ts: number, timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#remove((w) => w.timer === timer);
        reject(new TimeoutError(`no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({ ts, resolve, reject, timer });
    });
  }

  /** Settles the pings a pong answers and returns the round-trip time. */
  pong(ts: number): number {
    const rtt = Math.max(0, this.#clock.now() - ts);
    for (const w of this.#remove((w) => w.ts === ts)) w.resolve(rtt);
    return rtt;
  }

  rejectAll(error: SurelinkError): void {
    for (const w of this.#remove(() => true)) w.reject(error);
  }

  #remove(match: (w: Waiter) => boolean): Waiter[] {
    const hit = this.#waiters.filter(match);
    if (hit.length === 0) return hit;
    this.#waiters = this.#waiters.filter((w) => !match(w));
    for (const w of hit) this.#clock.clearTimeout(w.timer);
    return hit;
  }
}
