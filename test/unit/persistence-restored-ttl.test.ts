import { describe, expect, it, vi } from 'vitest';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

// A page reloaded offline: the queue it restores has TTLs that run out before it connects.
const f = useFakeClientFixture({ autoConnect: false });
const stored = new Map<string, unknown>();
let dead: () => void = () => {};
/** A page on `stored`; the one before it dies (writes nothing from now on, timers or not). */
function page() {
  dead();
  let alive = true;
  dead = () => (alive = false);
  const store: SessionStore = {
    load: (k) => stored.get(k) as SessionSnapshot | undefined,
    save: (k, s) => void (alive && stored.set(k, JSON.parse(JSON.stringify(s)))),
    remove: (k) => void (alive && stored.delete(k)),
  };
  return f.make({ queue: { storage: store, storageKey: 'k', ttlMs: 5000 } });
}

describe('a restored queue under queue.ttlMs', () => {
  it("reports restored messages in 'queue:expired' when their TTL runs out offline, not at the next connect", async () => {
    stored.clear();
    page().send('m', 1);
    await vi.advanceTimersByTimeAsync(1000); // the reload, 1 s later, still offline
    const after = page();
    const expired = vi.fn();
    after.on('queue:expired', expired);
    await settle();
    expect(after.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(3999);
    expect(expired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toHaveBeenCalledWith({ expired: [expect.objectContaining({ data: 1 })] });
    expect(after.queued).toBe(0);
    // Stored without it: the next reload does not report it again.
    expect((stored.get('k') as SessionSnapshot).outbound.entries).toEqual([]);
  });

  it('reports at once what ran out before the reload', async () => {
    stored.clear();
    page().send('m', 1);
    await settle(); // stored
    dead(); // the old page dies before its own timer runs
    await vi.advanceTimersByTimeAsync(6000);
    const after = page();
    const expired = vi.fn();
    after.on('queue:expired', expired);
    await settle();
    expect(expired).toHaveBeenCalledWith({ expired: [expect.objectContaining({ data: 1 })] });
    expect(after.queued).toBe(0);
  });

  it('reports them when their TTL runs out, also when the page queued a message before its load', async () => {
    stored.clear();
    page().send('m', 1);
    await vi.advanceTimersByTimeAsync(1000);
    const after = page();
    const expired = vi.fn();
    after.on('queue:expired', expired);
    after.send('m', 2); // at start-up, before the stored queue was read: expires at 6 s
    await vi.advanceTimersByTimeAsync(4000);
    expect(expired).toHaveBeenCalledWith({ expired: [expect.objectContaining({ data: 1 })] });
    expect(after.queued).toBe(1);
  });
});
