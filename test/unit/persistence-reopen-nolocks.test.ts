/**
 * Where there are no Web Locks (Node 20 and 22, a store of one tab, an opaque origin whose lock
 * manager refuses), a client created right after another on the same key was closed (a re-login, a
 * remount) must not read the stored session before the closed one's removal landed: it would send
 * again the queue `close()` returned, and the removal, landing later, would take its own session away.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const f = useFakeClientFixture({ autoConnect: false });

/** An asynchronous store on `saved`; `removal` delays each removal by that many ticks. */
function asyncStore(saved: Map<string, unknown>, removal = 1): SessionStore {
  const later = <T>(fn: () => T, ticks = 1): Promise<T> =>
    ticks > 1 ? Promise.resolve().then(() => later(fn, ticks - 1)) : Promise.resolve().then(fn);
  return {
    load: (k) => later(() => saved.get(k) as SessionSnapshot | undefined),
    save: (k, s) => later(() => void saved.set(k, s)),
    remove: (k) => later(() => void saved.delete(k), removal),
  };
}

describe('a client created right after close() on the same key, without Web Locks', () => {
  it.each([
    ['with a write under way at close()', 1],
    ['whose store removes slowly', 5],
  ])('does not adopt the closed one’s queue, %s', async (_, removal) => {
    expect((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks).toBeUndefined();
    const saved = new Map<string, unknown>();
    const options = { queue: { storage: asyncStore(saved, removal), storageKey: 'k' } };
    const first = f.make(options);
    await settle();
    first.send('m', 'first');
    if (removal > 1) await settle(); // its write landed: only the removal is under way at close()
    expect(first.close().map((m) => m.data)).toEqual(['first']); // the app has it back
    const next = f.make(options);
    await settle();
    expect(next.queued).toBe(0);
    next.send('m', 'next');
    await settle();
    expect((saved.get('k') as SessionSnapshot | undefined)?.outbound.entries.map((e) => e.data)).toEqual(['next']);
  });
});

describe('… where the lock manager refuses (an opaque origin)', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('does not adopt the closed one’s queue', async () => {
    vi.stubGlobal('navigator', {
      locks: { request: () => Promise.reject(new DOMException('opaque', 'SecurityError')) },
    });
    const saved = new Map<string, unknown>();
    const options = { queue: { storage: asyncStore(saved, 20), storageKey: 'k' } };
    const first = f.make(options);
    await settle();
    first.send('m', 'first');
    await settle();
    expect(first.close().map((m) => m.data)).toEqual(['first']);
    const next = f.make(options);
    await settle();
    expect(next.queued).toBe(0);
  });
});
