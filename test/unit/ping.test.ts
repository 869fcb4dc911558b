/**
 * `ping()` as README's API table states it: the round-trip time, or a rejection that says why
 * there is none: `TimeoutError` after `timeoutMs` (by default the heartbeat's `timeoutMs`),
 * `NotConnectedError` at the call while no link is open, `ClosedError` after `close()`.
 */
import { describe, expect, it, vi } from 'vitest';
import { NotConnectedError, TimeoutError } from '../../src/errors/index.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture();

/** When `promise` settled, in ms of fake time from now (polled each ms up to `max`), and how. */
async function settledAfter(promise: Promise<unknown>, max: number): Promise<{ ms: number; error: unknown }> {
  let done = false;
  let error: unknown;
  promise.then(
    () => (done = true),
    (e: unknown) => ((done = true), (error = e)),
  );
  let ms = 0;
  for (; !done && ms < max; ms++) await vi.advanceTimersByTimeAsync(1);
  return { ms, error };
}

describe('ping()', () => {
  it('rejects with TimeoutError when no pong comes within the heartbeat timeout (10 s by default)', async () => {
    const c = await t.connected({ heartbeat: { intervalMs: 60_000 } }); // no heartbeat ping meanwhile
    const { ms, error } = await settledAfter(c.ping(), 20_000);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(ms).toBe(10_000);
    expect(c.state).toBe('open'); // a lost pong is not a lost link
  });

  it('waits 10 s too with the heartbeat off, and timeoutMs when given', async () => {
    const c = await t.connected({ heartbeat: false });
    expect((await settledAfter(c.ping(), 20_000)).ms).toBe(10_000);
    const given = await settledAfter(c.ping({ timeoutMs: 250 }), 20_000);
    expect(given.error).toBeInstanceOf(TimeoutError);
    expect(given.ms).toBe(250);
  });

  it('rejects at the call with NotConnectedError while no link is open', async () => {
    const c = t.make({ autoConnect: false });
    await expect(c.ping()).rejects.toBeInstanceOf(NotConnectedError);
    c.connect();
    await settle();
    expect(c.state).toBe('connecting');
    await expect(c.ping()).rejects.toBeInstanceOf(NotConnectedError);
  });
});
