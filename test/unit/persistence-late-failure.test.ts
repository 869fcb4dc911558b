import { describe, expect, it, vi } from 'vitest';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const f = useFakeClientFixture({ heartbeat: false });

/** A store whose writes take effect when the test completes them, in any order. */
function manualStore() {
  const data = new Map<string, SessionSnapshot>();
  const ops: { kind: 'save' | 'remove'; settled?: true; done(): void; fail(): void }[] = [];
  const op = (kind: 'save' | 'remove', effect: () => void) =>
    new Promise<void>((resolve, reject) => {
      const o: (typeof ops)[number] = {
        kind,
        done: () => ((o.settled = true), effect(), resolve()),
        fail: () => ((o.settled = true), reject(new Error('QuotaExceededError'))),
      };
      ops.push(o);
    });
  const store: SessionStore = {
    load: () => undefined,
    save: (k, s) => op('save', () => data.set(k, JSON.parse(JSON.stringify(s)) as SessionSnapshot)),
    remove: (k) => op('remove', () => data.delete(k)),
  };
  return { data, ops, store };
}

describe('a store write given up on (connectTimeoutMs) that then fails', () => {
  it('the removal its failure makes lands before the save that follows, never after it', async () => {
    const { data, ops, store } = manualStore();
    const c = f.make({ queue: { storage: store, storageKey: 'k' } });
    await settle();
    f.fake.last.accept({ resume: 'r1' });
    await settle();
    c.send('m', 1);
    await vi.advanceTimersByTimeAsync(3500); // given up on: #1 goes out
    expect(f.fake.last.framesOf('event').map((e) => e.seq)).toEqual([1]);
    ops[0]?.fail(); // it fails: the stored session, which may hold #1 as queued, is removed
    await settle();
    // The store completes the newest write under way first (a custom store may).
    for (let i = 0; i < 10 && ops.some((o) => !o.settled); i++) {
      ops
        .filter((o) => !o.settled)
        .at(-1)
        ?.done();
      await settle();
    }
    expect(ops.map((o) => o.kind)).toEqual(['save', 'remove', 'save']);
    // The save that follows holds the session as it is (#1 in flight), for the next page to resume.
    expect(data.get('k')).toMatchObject({ resume: 'r1', outbound: { sentUpTo: 1, entries: [{ seq: 1, data: 1 }] } });
  });
});
