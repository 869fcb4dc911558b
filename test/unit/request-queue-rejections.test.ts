/**
 * What `request()` rejects with when the offline queue lets it go (README, the paragraph after the
 * client's API table; `request()`'s TSDoc): each policy's error, at the call or when it is dropped.
 */
import { describe, expect, it, vi } from 'vitest';
import { NotConnectedError, QueueFullError, TimeoutError } from '../../src/errors/index.js';
import { useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({ heartbeat: false, autoConnect: false });

describe('a request the offline queue lets go', () => {
  it('drop-oldest: the oldest queued request rejects with NotConnectedError', async () => {
    const c = t.make({ queue: { maxMessages: 1 } });
    const first = c.request('a', 1);
    const check = expect(first).rejects.toBeInstanceOf(NotConnectedError);
    void c.request('b', 2).catch(() => {});
    await check;
  });

  it('drop-newest, and maxMessages 0: the new request rejects with NotConnectedError', async () => {
    const c = t.make({ queue: { maxMessages: 1, overflow: 'drop-newest' } });
    void c.request('a', 1).catch(() => {});
    await expect(c.request('b', 2)).rejects.toBeInstanceOf(NotConnectedError);
    await expect(t.make({ queue: { maxMessages: 0 } }).request('c')).rejects.toBeInstanceOf(NotConnectedError);
  });

  it("overflow 'error': the new request rejects with QueueFullError", async () => {
    const c = t.make({ queue: { maxMessages: 1, overflow: 'error' } });
    void c.request('a', 1).catch(() => {});
    await expect(c.request('b', 2)).rejects.toBeInstanceOf(QueueFullError);
  });

  it('ttlMs: an expired request rejects with TimeoutError', async () => {
    const c = t.make({ queue: { ttlMs: 100 } });
    const r = c.request('a', 1, { timeoutMs: 60_000 });
    const check = expect(r).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await check;
  });
});
