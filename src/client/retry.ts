/**
 * Reconnection timing. A retry policy is one function from "how far into this streak of failures
 * are we" to "how long to wait, or stop" (SignalR's IRetryPolicy); `RetrySchedule` keeps the streak
 * and decides when a connection lived long enough for the streak to start over.
 */
import { InvalidArgumentError, inRange, oneOf } from '../errors/invalid-argument.js';
import { MAX_DELAY_MS, Timer, type Clock } from '../util/clock.js';

/** What a retry policy is told about the failure it is asked to schedule a retry for. */
export interface RetryContext {
  /** 1 for the first retry of a streak of failures, then 2, 3, ... */
  readonly attempt: number;
  /**
   * Milliseconds since the first failure of the current streak (0 for the first retry), leaving out
   * the time the client was paused (offline, or the page frozen or in the back/forward cache).
   */
  readonly elapsedMs: number;
  /**
   * Why the last connection or attempt failed: the close reason (e.g. `'heartbeat timeout'`), `'code 1006'`
   * for a close without one, or the attempt's error message (e.g. `'websocket: no handshake within 3500 ms'`).
   */
  readonly reason: string;
}

/**
 * Returns the delay in ms before the next attempt, or `null` to stop reconnecting.
 *
 * @example
 * const policy: RetryPolicy = ({ attempt }) => (attempt > 5 ? null : 1000 * attempt);
 */
export type RetryPolicy = (ctx: RetryContext) => number | null;

/** Settings of {@link exponentialBackoff}. */
export interface BackoffOptions {
  /**
   * Cap of the first retry's delay.
   * @default 1000 (`maxDelayMs` when that is lower)
   */
  initialDelayMs?: number;
  /**
   * No delay exceeds this.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Each attempt's cap is the previous one's times this (>= 1).
   * @default 2
   */
  factor?: number;
  /**
   * `'full'`: a uniformly random delay in [0, cap) (AWS "full jitter", spreads a thundering herd
   * of clients after a server restart); `'none'`: exactly the cap.
   * @default 'full'
   */
  jitter?: 'full' | 'none';
  /**
   * Retries per streak; the policy returns `null` after this many.
   * @default Infinity
   */
  maxAttempts?: number;
}

/**
 * The default retry policy: exponential backoff with full jitter. The attempt-th delay is
 * `random() * min(maxDelayMs, initialDelayMs * factor^(attempt - 1))` (the cap itself with
 * `jitter: 'none'`); after `maxAttempts` retries it returns `null`.
 *
 * @param random - Source of uniform numbers in [0, 1); injectable for tests. By default
 *   `Math.random`, looked up per draw (so a stubbed one applies).
 * @throws InvalidArgumentError when an option is negative, NaN or out of range, `factor` < 1, or
 *   `initialDelayMs` > `maxDelayMs`.
 * @example
 * const policy = exponentialBackoff({ initialDelayMs: 500, maxDelayMs: 10_000, maxAttempts: 8 });
 * policy({ attempt: 1, elapsedMs: 0, reason: 'code 1006' }); // somewhere in [0, 500)
 */
export function exponentialBackoff(options: BackoffOptions = {}, random = (): number => Math.random()): RetryPolicy {
  // The default start follows a cap set below it: only an initialDelayMs the user set can exceed it.
  const {
    maxDelayMs = 30_000,
    initialDelayMs = Math.min(1000, maxDelayMs),
    factor = 2,
    jitter = 'full',
    maxAttempts = Infinity,
  } = options;
  inRange('maxDelayMs', maxDelayMs, 0, MAX_DELAY_MS);
  // Not above maxDelayMs: the range in the message says so.
  inRange('initialDelayMs', initialDelayMs, 0, maxDelayMs);
  inRange('factor', factor, 1, Number.MAX_VALUE);
  inRange('maxAttempts', maxAttempts, 0, Infinity);
  oneOf('jitter', jitter, ['full', 'none']);
  return ({ attempt }) => {
    if (attempt > maxAttempts) return null;
    // factor ** n overflows to Infinity for long streaks; min() then yields the max (0 stays 0).
    const cap = initialDelayMs === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, attempt - 1));
    return jitter === 'none' ? cap : random() * cap;
  };
}

/** What {@link RetrySchedule} follows: the resolved `reconnect` option (options.ts checks it). */
export interface RetrySettings {
  readonly policy: RetryPolicy;
  /**
   * A connection must stay open this long (from `opened()` to the next failure) for the attempt
   * counter to start over; shorter ones count as part of the same streak, so a server that accepts
   * and drops at once is still backed off.
   */
  readonly minUptimeMs: number;
}

/** One scheduled retry. */
export interface ScheduledRetry {
  /** 1-based position in the current streak. */
  readonly attempt: number;
  readonly delayMs: number;
}

/**
 * Keeps the streak of failures a retry policy is asked about: counts attempts, measures the
 * streak's age, and restarts it after a connection that stayed up for `minUptimeMs`. It holds the
 * timer of the backoff delay for its user, and never starts it itself.
 *
 * @example
 * const schedule = new RetrySchedule({ policy: exponentialBackoff(), minUptimeMs: 5000 }, systemClock);
 * const next = schedule.next('code 1006'); // { attempt: 1, delayMs: ... } or null: give up
 * // ...after the handshake of the next connection completes:
 * schedule.opened();
 */
export class RetrySchedule {
  readonly #o: RetrySettings;
  readonly #clock: Clock;
  /** The backoff delay under way, if any. */
  declare readonly timer: Timer;
  #attempt = 0;
  #streakStartedAt: number | undefined;
  /** When the last connection opened; Infinity when none did since the last failure. */
  #openedAt = Infinity;

  constructor(settings: RetrySettings, clock: Clock) {
    this.#o = settings;
    this.#clock = clock;
    this.timer = new Timer(clock);
  }

  /** A connection completed its handshake; its uptime is measured from now. */
  opened(): void {
    this.#openedAt = this.#clock.now();
  }

  /**
   * Called on each failed attempt or dropped connection: returns the next retry, or `null` when
   * the policy gives up (the counter then stays where it was).
   *
   * @throws InvalidArgumentError when the policy throws, or returns a negative, NaN, infinite or
   *   over-long delay; nothing is recorded then.
   */
  next(reason: string): ScheduledRetry | null {
    const now = this.#clock.now();
    if (now - this.#openedAt >= this.#o.minUptimeMs) this.reset();
    this.#openedAt = Infinity;
    const startedAt = this.#streakStartedAt ?? now;
    const attempt = this.#attempt + 1;
    let delayMs: number | null;
    try {
      delayMs = this.#o.policy({ attempt, elapsedMs: Math.max(0, now - startedAt), reason });
    } catch (cause) {
      throw new InvalidArgumentError(`reconnect.policy threw: ${String(cause)}`, { cause });
    }
    if (delayMs === null) return null;
    inRange('retry policy result (null or a delay)', delayMs, 0, MAX_DELAY_MS);
    this.#streakStartedAt = startedAt;
    this.#attempt = attempt;
    return { attempt, delayMs };
  }

  /** The client was paused `ms` (offline, frozen): the streak's `elapsedMs` leaves that out. */
  skip(ms: number): void {
    if (this.#streakStartedAt !== undefined) this.#streakStartedAt += ms;
  }

  /** Starts a fresh streak (e.g. the user called `connect()` again). */
  reset(): void {
    this.#attempt = 0;
    this.#streakStartedAt = undefined;
    this.#openedAt = Infinity;
  }
}
