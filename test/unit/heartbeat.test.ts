import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../src/client/heartbeat.js';
import { systemClock } from '../../src/util/clock.js';

const INTERVAL = 20_000;
const TIMEOUT = 10_000;
const T0 = 1_700_000_000_000;

function setup(timeoutMs = TIMEOUT) {
  const sendPing = vi.fn<(ts: number) => void>();
  const onDead = vi.fn<() => void>();
  const hb = new Heartbeat({ clock: systemClock, timeoutMs, sendPing, onDead });
  return { hb, sendPing, onDead };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Heartbeat', () => {
  it('sends a ping carrying the clock time after intervalMs of silence, not before', () => {
    const { hb, sendPing } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(sendPing).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(sendPing).toHaveBeenCalledExactlyOnceWith(T0 + INTERVAL);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('reports the link dead intervalMs + timeoutMs after the last inbound frame', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL + TIMEOUT - 1);
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDead).toHaveBeenCalledOnce();
    expect(sendPing).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0); // stopped: no deadline left
    vi.setSystemTime(T0 + 10 * (INTERVAL + TIMEOUT));
    expect(hb.check()).toBe(true); // nothing left to judge
    expect(onDead).toHaveBeenCalledOnce();
  });

  it('received() postpones the ping and never touches timers', () => {
    const { hb, sendPing, onDead } = setup();
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    hb.start(INTERVAL);
    expect(setSpy).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(15_000);
    hb.received();
    hb.received();
    expect(setSpy).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(INTERVAL - 1); // t = 15 000 + 19 999: the timer re-armed once at t = 20 000
    expect(sendPing).not.toHaveBeenCalled();
    expect(setSpy).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1);
    expect(sendPing).toHaveBeenCalledExactlyOnceWith(T0 + 15_000 + INTERVAL);
    expect(onDead).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
  });

  it('an answer to the ping keeps the link alive and the cycle repeats', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL);
    vi.advanceTimersByTime(50);
    hb.received(); // the pong
    vi.advanceTimersByTime(INTERVAL);
    expect(sendPing).toHaveBeenCalledTimes(2);
    expect(sendPing).toHaveBeenLastCalledWith(T0 + INTERVAL + 50 + INTERVAL);
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDead).toHaveBeenCalledOnce();
  });

  it('with timeoutMs longer than intervalMs, an answered ping is followed intervalMs after the answer, not timeoutMs', () => {
    // A keepalive tuned under a proxy's idle timeout must not slip to the (longer) dead-link timeout.
    const { hb, sendPing, onDead } = setup(60_000);
    hb.start(1000);
    vi.advanceTimersByTime(1000);
    expect(sendPing).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5);
    hb.received(); // the pong
    vi.advanceTimersByTime(999);
    expect(sendPing).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(sendPing).toHaveBeenCalledTimes(2);
    expect(sendPing).toHaveBeenLastCalledWith(T0 + 1000 + 5 + 1000);
    vi.advanceTimersByTime(60_000); // unanswered now: dead timeoutMs after that ping
    expect(onDead).toHaveBeenCalledOnce();
  });

  it('a pong read in the same millisecond as the ping counts as an answer', () => {
    const { hb, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL);
    hb.received();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(onDead).not.toHaveBeenCalled();
  });

  it('throttled timer: a late firing past interval + timeout is fatal at once, without a ping', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    // The tab sleeps: the wall clock jumps far ahead, then the (throttled) timer fires once.
    vi.setSystemTime(T0 + INTERVAL + TIMEOUT + 60_000);
    vi.advanceTimersToNextTimer();
    expect(sendPing).not.toHaveBeenCalled();
    expect(onDead).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a late firing between interval and interval + timeout pings but keeps the original deadline', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.setSystemTime(T0 + INTERVAL + TIMEOUT - 1000 - INTERVAL);
    vi.advanceTimersToNextTimer(); // fires at T0 + INTERVAL + TIMEOUT - 1000 by the wall clock
    expect(sendPing).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(999);
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDead).toHaveBeenCalledOnce();
  });

  it('check() returns true while the deadline has not passed', () => {
    const { hb, onDead } = setup();
    hb.start(INTERVAL);
    vi.setSystemTime(T0 + INTERVAL + TIMEOUT - 1);
    expect(hb.check()).toBe(true);
    expect(onDead).not.toHaveBeenCalled();
    vi.setSystemTime(T0 + INTERVAL + TIMEOUT); // still watching: a moment later, the check finds it dead
    expect(hb.check()).toBe(false);
    expect(onDead).toHaveBeenCalledOnce();
  });

  it('check() after a sleep reports the link dead synchronously and stops', () => {
    const { hb, onDead } = setup();
    hb.start(INTERVAL);
    vi.setSystemTime(T0 + INTERVAL + TIMEOUT);
    expect(hb.check()).toBe(false);
    expect(onDead).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
    expect(hb.check()).toBe(true); // stopped: nothing left to judge, onDead not repeated
    expect(onDead).toHaveBeenCalledOnce();
  });

  it('check() counts from the last inbound frame', () => {
    const { hb } = setup();
    hb.start(INTERVAL);
    vi.setSystemTime(T0 + 25_000);
    hb.received();
    vi.setSystemTime(T0 + 25_000 + INTERVAL + TIMEOUT - 1);
    expect(hb.check()).toBe(true);
  });

  it('probe() pings now and fails the link timeoutMs later without an answer', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(1000);
    expect(hb.probe()).toBe(true);
    expect(sendPing).toHaveBeenCalledExactlyOnceWith(T0 + 1000);
    expect(hb.probe()).toBe(true); // one unanswered ping at a time
    expect(sendPing).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDead).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('probe() answered keeps the regular schedule', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(1000);
    hb.probe();
    vi.advanceTimersByTime(30);
    hb.received();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(sendPing).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(1);
    expect(sendPing).toHaveBeenCalledTimes(2);
    expect(onDead).not.toHaveBeenCalled();
  });

  it('probe() reports an already expired link like check()', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.setSystemTime(T0 + INTERVAL + TIMEOUT);
    expect(hb.probe()).toBe(false);
    expect(onDead).toHaveBeenCalledOnce();
    expect(sendPing).not.toHaveBeenCalled();
  });

  it('stop() leaves no timer, and nothing fires afterwards', () => {
    const { hb, sendPing, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL); // a ping is out, the deadline timer armed
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * (INTERVAL + TIMEOUT));
    expect(sendPing).toHaveBeenCalledOnce();
    expect(onDead).not.toHaveBeenCalled();
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('start() again restarts with one timer and forgets the unanswered ping', () => {
    const { hb, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL + TIMEOUT - 1);
    hb.start(INTERVAL);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(INTERVAL + TIMEOUT - 1);
    expect(onDead).not.toHaveBeenCalled();
  });

  it('a sendPing that stops the heartbeat leaves no timer behind', () => {
    const onDead = vi.fn();
    const hb: Heartbeat = new Heartbeat({
      clock: systemClock,
      timeoutMs: TIMEOUT,
      sendPing: () => hb.stop(),
      onDead,
    });
    hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a wall clock set an hour back delays detection by one interval at most, not an hour', () => {
    const { hb, onDead } = setup();
    hb.start(INTERVAL);
    vi.advanceTimersByTime(5000);
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(INTERVAL + INTERVAL + TIMEOUT - 5000 - 1);
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onDead).toHaveBeenCalledOnce();
  });
});

describe('Heartbeat: one timer for the heartbeats of a clock', () => {
  it('several heartbeats share one timer, each pinging at its own time; stopping them all leaves none', () => {
    const a = setup();
    const b = setup();
    const c = setup();
    a.hb.start(INTERVAL);
    vi.advanceTimersByTime(1000);
    b.hb.start(INTERVAL);
    vi.advanceTimersByTime(1000);
    c.hb.start(INTERVAL);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(INTERVAL - 2000);
    expect(a.sendPing).toHaveBeenCalledExactlyOnceWith(T0 + INTERVAL);
    expect(b.sendPing).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(b.sendPing).toHaveBeenCalledExactlyOnceWith(T0 + 1000 + INTERVAL);
    vi.advanceTimersByTime(1000);
    expect(c.sendPing).toHaveBeenCalledExactlyOnceWith(T0 + 2000 + INTERVAL);
    expect(vi.getTimerCount()).toBe(1);
    a.hb.stop();
    b.hb.stop();
    expect(vi.getTimerCount()).toBe(1);
    c.hb.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a heartbeat stopped by another that fires at the same time does not fire', () => {
    const second = setup();
    const onDead = vi.fn();
    const first = new Heartbeat({
      clock: systemClock,
      timeoutMs: TIMEOUT,
      sendPing: () => second.hb.stop(),
      onDead,
    });
    first.start(INTERVAL);
    second.hb.start(INTERVAL);
    vi.advanceTimersByTime(INTERVAL);
    expect(second.sendPing).not.toHaveBeenCalled();
    // The first still watches its link (dead once its ping goes unanswered); the second never fires again.
    vi.advanceTimersByTime(TIMEOUT);
    expect(onDead).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(10 * (INTERVAL + TIMEOUT));
    expect(second.sendPing).not.toHaveBeenCalled();
    expect(second.onDead).not.toHaveBeenCalled();
  });

  it('a sendPing that throws does not keep the others due at the same time from firing', () => {
    const thrower = new Heartbeat({
      clock: systemClock,
      timeoutMs: TIMEOUT,
      sendPing: () => {
        throw new Error('send failed');
      },
      onDead: vi.fn(),
    });
    const other = setup();
    thrower.start(INTERVAL);
    other.hb.start(INTERVAL);
    expect(() => vi.advanceTimersByTime(INTERVAL)).toThrow('send failed');
    expect(other.sendPing).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(1); // both still watched
    vi.advanceTimersByTime(TIMEOUT);
    expect(other.onDead).toHaveBeenCalledOnce();
  });

  it('with the wall clock set back, each heartbeat still detects silence within one extra interval', () => {
    const a = setup();
    const b = setup();
    a.hb.start(INTERVAL);
    vi.advanceTimersByTime(5000);
    b.hb.start(INTERVAL);
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(INTERVAL + INTERVAL + TIMEOUT);
    expect(a.onDead).toHaveBeenCalledOnce();
    expect(b.onDead).toHaveBeenCalledOnce();
  });

  it('with the wall clock set back, one started after the jump does not hold up those started before', () => {
    const a = setup();
    const b = setup();
    a.hb.start(INTERVAL);
    vi.advanceTimersByTime(5000);
    vi.setSystemTime(Date.now() - 3_600_000);
    // b's deadline (on the new clock) is now the group's earliest; a's still lies an hour ahead.
    b.hb.start(INTERVAL);
    for (let t = 0; t < INTERVAL + INTERVAL + TIMEOUT; t += 1000) {
      vi.advanceTimersByTime(1000);
      b.hb.received(); // b's link stays alive, so its timer keeps the group's earliest deadline
    }
    expect(b.onDead).not.toHaveBeenCalled();
    expect(a.onDead).toHaveBeenCalledOnce();
    b.hb.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with the wall clock set back, a heartbeat left alone in its group is not armed for the jump', () => {
    const a = setup();
    const b = setup();
    a.hb.start(INTERVAL);
    vi.setSystemTime(Date.now() - 3_600_000);
    b.hb.start(INTERVAL);
    b.hb.stop(); // the group re-arms for a's deadline, an hour ahead on the new clock
    vi.advanceTimersByTime(INTERVAL + INTERVAL + TIMEOUT);
    expect(a.onDead).toHaveBeenCalledOnce();
  });

  it('a heartbeat left running under another timer implementation does not hold up new ones', () => {
    const leaked = setup();
    leaked.hb.start(INTERVAL); // under this test's fake timers, never stopped
    vi.useRealTimers();
    vi.useFakeTimers({ now: T0 }); // a new install: the leaked heartbeat's timer is gone with the old one
    const fresh = setup();
    fresh.hb.start(INTERVAL);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(INTERVAL);
    expect(fresh.sendPing).toHaveBeenCalledExactlyOnceWith(T0 + INTERVAL);
  });

  it('heartbeats of different clocks keep their own timers', () => {
    const times: number[] = [];
    const clockA = { ...systemClock, now: () => Date.now() };
    const clockB = { ...systemClock, now: () => Date.now() };
    for (const clock of [clockA, clockB]) {
      new Heartbeat({
        clock,
        timeoutMs: TIMEOUT,
        sendPing: (ts) => times.push(ts),
        onDead() {},
      }).start(INTERVAL);
    }
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(INTERVAL);
    expect(times).toEqual([T0 + INTERVAL, T0 + INTERVAL]);
  });
});
