import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { RealtimeClient } from '../../src/client/client.js';
import { exponentialBackoff, RetrySchedule } from '../../src/client/retry.js';
import type { RetryContext, RetryPolicy } from '../../src/client/retry.js';
import type { Clock } from '../../src/util/clock.js';

/** A clock whose time only moves when the test says so; retry never arms timers. */
function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => {
      throw new Error('RetrySchedule must not arm timers');
    },
    clearTimeout: () => {},
    advance: (ms) => {
      now += ms;
    },
  };
}

const ctx = (attempt: number): RetryContext => ({ attempt, elapsedMs: 0, reason: 'test' });

describe('exponentialBackoff', () => {
  it('without jitter doubles from 1000 ms and caps at 30000 ms by default', () => {
    const policy = exponentialBackoff({ jitter: 'none' });
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => policy(ctx(n)));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('honours initialDelayMs, maxDelayMs and factor', () => {
    const policy = exponentialBackoff({ jitter: 'none', initialDelayMs: 100, maxDelayMs: 1000, factor: 3 });
    expect([1, 2, 3, 4].map((n) => policy(ctx(n)))).toEqual([100, 300, 900, 1000]);
  });

  it('with only maxDelayMs set below 1 s, starts at that cap instead of throwing about initialDelayMs', () => {
    // The user set no initialDelayMs: its default (1000) must not make their cap an error.
    expect([1, 2, 3].map((n) => exponentialBackoff({ maxDelayMs: 500, jitter: 'none' })(ctx(n)))).toEqual([
      500, 500, 500,
    ]);
    expect(exponentialBackoff({ maxDelayMs: 0, jitter: 'none' })(ctx(1))).toBe(0);
    expect(
      () => new RealtimeClient('ws://test.invalid/x', { autoConnect: false, reconnect: { maxDelayMs: 500 } }),
    ).not.toThrow();
    // An initialDelayMs the user did set above the cap is still their mistake, named as such.
    expect(() => exponentialBackoff({ initialDelayMs: 800, maxDelayMs: 500 })).toThrow(/initialDelayMs/);
    expect(() => exponentialBackoff({ maxDelayMs: -1 })).toThrow(/maxDelayMs/);
  });

  it('with full jitter scales the cap by random(): 0, 0.5 and just under 1', () => {
    for (const [r, expected] of [
      [0, [0, 0, 0]],
      [0.5, [500, 1000, 2000]],
      [0.999999, [999.999, 1999.998, 3999.996]],
    ] as const) {
      const policy = exponentialBackoff({}, () => r);
      const delays = [1, 2, 3].map((n) => policy(ctx(n)) as number);
      delays.forEach((d, i) => expect(d).toBeCloseTo(expected[i] as number, 6));
    }
  });

  it('uses Math.random by default and stays below the cap', () => {
    const policy = exponentialBackoff({ initialDelayMs: 1000 });
    for (let i = 0; i < 100; i++) {
      const d = policy(ctx(1)) as number;
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1000);
    }
  });

  it('property: 0 <= delay <= min(max, initial * factor^(attempt-1)) for any options and attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (a, b, factor, attempt, r) => {
          const [initialDelayMs, maxDelayMs] = a <= b ? [a, b] : [b, a];
          const delay = exponentialBackoff({ initialDelayMs, maxDelayMs, factor }, () => r)(ctx(attempt));
          const cap = initialDelayMs === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * factor ** (attempt - 1));
          expect(delay).not.toBeNull();
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });

  it('does not overflow to NaN on very long streaks, even with initialDelayMs 0', () => {
    expect(exponentialBackoff({ jitter: 'none' })(ctx(100_000))).toBe(30000);
    expect(exponentialBackoff({ jitter: 'none', initialDelayMs: 0 })(ctx(100_000))).toBe(0);
  });

  it('returns null after maxAttempts', () => {
    const policy = exponentialBackoff({ maxAttempts: 3, jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((n) => policy(ctx(n)))).toEqual([1000, 2000, 4000, null, null]);
    expect(exponentialBackoff({ maxAttempts: 0 })(ctx(1))).toBeNull();
  });

  it.each([
    ['negative initialDelayMs', { initialDelayMs: -1 }],
    ['NaN maxDelayMs', { maxDelayMs: Number.NaN }],
    ['factor below 1', { factor: 0.5 }],
    ['NaN factor', { factor: Number.NaN }],
    ['negative maxAttempts', { maxAttempts: -1 }],
    ['initialDelayMs above maxDelayMs', { initialDelayMs: 5000, maxDelayMs: 1000 }],
    ['a delay no timer can hold', { maxDelayMs: 2 ** 31 }],
  ])('rejects %s with InvalidArgumentError', (_name, options) => {
    expect(() => exponentialBackoff(options)).toThrow(InvalidArgumentError);
  });

  it('rejects an unknown jitter mode', () => {
    const options = JSON.parse('{"jitter":"half"}') as { jitter: 'full' };
    expect(() => exponentialBackoff(options)).toThrow(/jitter/);
  });
});

describe('RetrySchedule', () => {
  const fixed: RetryPolicy = ({ attempt }) => attempt * 100;

  it('counts attempts from 1 and reports the policy delay', () => {
    const schedule = new RetrySchedule({ policy: fixed, minUptimeMs: 5000 }, manualClock());
    expect(schedule.next('a')).toEqual({ attempt: 1, delayMs: 100 });
    expect(schedule.next('b')).toEqual({ attempt: 2, delayMs: 200 });
    expect(schedule.next('c')).toEqual({ attempt: 3, delayMs: 300 });
  });

  it('leaves paused time (skip) out of elapsedMs, and a skip before any failure does nothing', () => {
    const clock = manualClock();
    const seen: number[] = [];
    const schedule = new RetrySchedule({ policy: (c) => (seen.push(c.elapsedMs), 0), minUptimeMs: 5000 }, clock);
    schedule.skip(60_000); // paused before the streak began
    schedule.next('a');
    clock.advance(70_000);
    schedule.skip(60_000); // 60 s of those were offline
    schedule.next('b');
    expect(seen).toEqual([0, 10_000]);
  });

  it('passes the reason and elapsedMs since the first failure of the streak', () => {
    const clock = manualClock();
    const seen: RetryContext[] = [];
    const schedule = new RetrySchedule({ policy: (c) => (seen.push(c), 0), minUptimeMs: 5000 }, clock);
    schedule.next('close 1006');
    clock.advance(1500);
    schedule.next('connect timeout');
    clock.advance(2500);
    schedule.next('close 1011');
    expect(seen).toEqual([
      { attempt: 1, elapsedMs: 0, reason: 'close 1006' },
      { attempt: 2, elapsedMs: 1500, reason: 'connect timeout' },
      { attempt: 3, elapsedMs: 4000, reason: 'close 1011' },
    ]);
  });

  it('restarts the streak after a connection stayed open for minUptimeMs', () => {
    const clock = manualClock();
    const seen: RetryContext[] = [];
    const schedule = new RetrySchedule({ policy: (c) => (seen.push(c), 10), minUptimeMs: 5000 }, clock);
    schedule.next('x');
    schedule.next('x');
    clock.advance(100);
    schedule.opened();
    clock.advance(5000);
    expect(schedule.next('dropped')).toEqual({ attempt: 1, delayMs: 10 });
    expect(seen.at(-1)).toEqual({ attempt: 1, elapsedMs: 0, reason: 'dropped' });
  });

  it('keeps counting when the connection dropped before minUptimeMs (a flapping server)', () => {
    const clock = manualClock();
    const seen: RetryContext[] = [];
    const schedule = new RetrySchedule({ policy: (c) => (seen.push(c), 10), minUptimeMs: 5000 }, clock);
    schedule.next('x');
    schedule.next('x');
    clock.advance(1000);
    schedule.opened();
    clock.advance(4999);
    expect(schedule.next('dropped')).toEqual({ attempt: 3, delayMs: 10 });
    expect(seen.at(-1)?.elapsedMs).toBe(5999);
  });

  it('judges only the last open: a later short-lived connection after a long one still resets once', () => {
    const clock = manualClock();
    const schedule = new RetrySchedule({ policy: fixed, minUptimeMs: 1000 }, clock);
    schedule.next('x');
    schedule.opened();
    clock.advance(2000);
    expect(schedule.next('x')?.attempt).toBe(1);
    // No opened() since: the next failure continues the streak.
    clock.advance(5000);
    expect(schedule.next('x')?.attempt).toBe(2);
  });

  it('returns null when the policy gives up, without advancing the counter', () => {
    const asked: number[] = [];
    const backoff = exponentialBackoff({ maxAttempts: 1 }, () => 0);
    const schedule = new RetrySchedule(
      { policy: (c) => (asked.push(c.attempt), backoff(c)), minUptimeMs: 0 },
      manualClock(),
    );
    expect(schedule.next('x')).toEqual({ attempt: 1, delayMs: 0 });
    expect(schedule.next('x')).toBeNull();
    expect(schedule.next('x')).toBeNull();
    expect(asked).toEqual([1, 2, 2]); // the counter stayed at 1
  });

  it('reset() starts a fresh streak', () => {
    const clock = manualClock();
    const seen: RetryContext[] = [];
    const schedule = new RetrySchedule({ policy: (c) => (seen.push(c), 0), minUptimeMs: 5000 }, clock);
    schedule.next('x');
    clock.advance(700);
    schedule.next('x');
    schedule.reset();
    clock.advance(300);
    schedule.next('y');
    expect(seen.at(-1)).toEqual({ attempt: 1, elapsedMs: 0, reason: 'y' });
  });

  it.each([-1, Number.NaN, Infinity, 2 ** 31])('throws InvalidArgumentError when the policy returns %s', (bad) => {
    let calls = 0;
    const schedule = new RetrySchedule({ policy: () => (++calls === 1 ? bad : 0), minUptimeMs: 0 }, manualClock());
    expect(() => schedule.next('x')).toThrow(InvalidArgumentError);
    expect(schedule.next('x')).toEqual({ attempt: 1, delayMs: 0 }); // nothing was recorded
  });

  it('turns a policy that throws into an InvalidArgumentError with the cause, recording nothing', () => {
    const bug = new TypeError('no');
    let calls = 0;
    const schedule = new RetrySchedule(
      {
        policy: () => {
          if (++calls === 1) throw bug;
          return 0;
        },
        minUptimeMs: 0,
      },
      manualClock(),
    );
    let thrown: unknown;
    try {
      schedule.next('x');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).cause).toBe(bug);
    expect(schedule.next('x')).toEqual({ attempt: 1, delayMs: 0 }); // nothing was recorded
  });
});
