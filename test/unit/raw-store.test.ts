/**
 * `protocol: 'raw'` with `queue.storage`: raw servers send no acks, so a queued text counts as
 * delivered once written, and the store must not keep it as queued after that, else the next page
 * sends it again.
 */
import { describe, expect, it } from 'vitest';
import type { ClientOptions } from '../../src/client/options.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';
import { memoryStorage } from '../helpers/memory-storage.js';

const t = useFakeClientFixture({ protocol: 'raw', heartbeat: false });
const raw = t.make;

describe('raw mode: a store whose writes start failing (quota exceeded)', () => {
  it('the next page does not send again the texts this page wrote after its write failed', async () => {
    const storage = memoryStorage(new Map());
    let full = false;
    const quota: Storage = {
      ...storage,
      setItem: (k, v) => {
        if (full) throw new DOMException('quota', 'QuotaExceededError');
        storage.setItem(k, v);
      },
    };
    const options: ClientOptions = { queue: { storage: webStorageStore(quota), storageKey: 'k' } };
    const first = raw(options);
    await settle(); // offline
    expect(first.send('subscribe')).toBe('queued'); // stored as queued
    full = true; // from now on every write throws
    t.fake.last.open(); // written: the store could not record it
    await settle();
    expect(t.fake.last.sent).toEqual(['subscribe']);
    raw(options); // a reload
    await settle();
    t.fake.last.open();
    await settle();
    expect(t.fake.last.sent).toEqual([]); // not sent a second time
  });
});
