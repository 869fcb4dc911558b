export { MAX_DELAY_MS } from '../protocol/limits.js';

/** Opaque timer handle. */
export type TimerHandle = unknown;

/**
 * Time as the client sees it. Injected so tests drive it with fake timers; the default looks
 * `globalThis` up on every call, so fake timers installed after import still take effect.
 */
export interface Clock {
  /** Wall-clock ms (Date.now()); compared across sleeps and throttled timers. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * One restartable timeout (phoenix's timer.js, without the tries): `start` replaces any pending
 * run, `stop` cancels it. Keeps timer bookkeeping out of the code that uses it.
 */
export class Timer {
  readonly #clock: Clock;
  #handle: TimerHandle | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get pending(): boolean {
    return this.#handle !== undefined;
  }

  start(ms: number, fn: () => void): void {
    this.stop();
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined;
      fn();
    }, ms);
  }

  stop(): void {
    if (this.#handle === undefined) return;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}
