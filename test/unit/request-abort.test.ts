/**
 * `request()` and its AbortSignal at every point: aborted before, while queued offline, after it
 * was sent, after `close()`; its abort listener never outlives the request.
 */
import { describe, expect, it, vi } from 'vitest';
import { AbortError, ClosedError, TimeoutError } from '../../src/errors/index.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({ heartbeat: false, reconnect: { initialDelayMs: 1000, jitter: 'none' } });
const { connected } = t;

/** A signal whose abort listeners are counted. */
function counted(): { ac: AbortController; listeners: () => number } {
  const ac = new AbortController();
  let n = 0;
  const { signal } = ac;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...a: Parameters<typeof add>) => (n++, add(...a))) as typeof add;
  signal.removeEventListener = ((...a: Parameters<typeof remove>) => (n--, remove(...a))) as typeof remove;
  return { ac, listeners: () => n };
}

describe('request() and its AbortSignal', () => {
  it('already aborted: rejects with AbortError, queues and sends nothing', async () => {
    const c = await connected();
    await expect(c.request('x', 1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(t.fake.last.framesOf('request')).toEqual([]);
    expect(c.close()).toEqual([]);
  });

  it('aborted while queued offline: withdrawn, never sent after the reconnect, not reported by close()', async () => {
    const c = await connected();
    t.fake.last.drop();
    const { ac, listeners } = counted();
    const r = c.request('x', 1, { signal: ac.signal });
    expect(c.queued).toBe(1);
    ac.abort();
    await expect(r).rejects.toBeInstanceOf(AbortError);
    expect(c.queued).toBe(0);
    expect(listeners()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    t.fake.last.accept({ resumed: true });
    await settle();
    expect(t.fake.last.framesOf('request')).toEqual([]);
    expect(c.close()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('timed out while queued offline: TimeoutError, withdrawn', async () => {
    const c = await connected();
    t.fake.last.drop();
    const r = c.request('x', 1, { timeoutMs: 500 });
    const check = expect(r).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(500);
    await check;
    expect(c.queued).toBe(0);
  });

  it('aborted after it was sent: AbortError, a late response ignored, the listener gone', async () => {
    const c = await connected();
    const { ac, listeners } = counted();
    const r = c.request('x', 1, { signal: ac.signal });
    const [q] = t.fake.last.framesOf('request');
    ac.abort();
    await expect(r).rejects.toBeInstanceOf(AbortError);
    expect(listeners()).toBe(0);
    expect(() => t.fake.last.push({ type: 'response', seq: 1, id: q?.id ?? 0, ok: true, data: 'late' })).not.toThrow();
    expect(c.state).toBe('open');
  });

  it('aborted after close(): stays a ClosedError, the listener was taken back at close()', async () => {
    const c = await connected();
    const { ac, listeners } = counted();
    const r = c.request('x', 1, { signal: ac.signal });
    c.close();
    expect(listeners()).toBe(0);
    ac.abort();
    await expect(r).rejects.toBeInstanceOf(ClosedError);
  });

  it('a response settles it and takes back its abort listener and timer', async () => {
    const c = await connected();
    const { ac, listeners } = counted();
    const r = c.request('x', 1, { signal: ac.signal, timeoutMs: 5000 });
    const [q] = t.fake.last.framesOf('request');
    t.fake.last.push({ type: 'response', seq: 1, id: q?.id ?? 0, ok: true, data: 'ok' });
    await expect(r).resolves.toBe('ok');
    expect(listeners()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000); // the ack of the response goes out: its timer is done
    expect(vi.getTimerCount()).toBe(0); // and the request's 5 s timer is gone
  });
});
