/**
 * A `Clock` whose time moves only when the test says so: timers run synchronously, in order, from
 * `advance()`. Faster than fake timers for tests that run thousands of cycles, and it counts the
 * timers still pending, so a leak shows up as a number.
 */
import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface Scheduled {
  readonly at: number;
  readonly fn: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Scheduled>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Timers scheduled and neither run nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running each timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId: number | undefined;
      let next: Scheduled | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (next === undefined || t.at < next.at)) {
          nextId = id;
          next = t;
        }
      }
      if (nextId === undefined || next === undefined) break;
      this.#timers.delete(nextId);
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}

/** Lets pending promise callbacks run (the client's connect path awaits a few of them). */
export async function flushMicrotasks(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
