/**
 * `webStorageStore(storage)` where merely reading `globalThis.sessionStorage` throws `SecurityError`
 * (a sandboxed iframe, a third-party iframe with storage blocked): an app that passes its own
 * storage must get a working store, not the browser's exception.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';
import { memoryStorage } from '../helpers/memory-storage.js';

const t = useFakeClientFixture({ heartbeat: false });
const own = Object.getOwnPropertyDescriptor(globalThis, 'sessionStorage');

beforeEach(() => {
  Object.defineProperty(globalThis, 'sessionStorage', {
    configurable: true,
    get() {
      throw new DOMException('The document is sandboxed and lacks the "allow-same-origin" flag.', 'SecurityError');
    },
  });
});
afterEach(() => {
  if (own) Object.defineProperty(globalThis, 'sessionStorage', own);
  else Reflect.deleteProperty(globalThis, 'sessionStorage');
});

describe('webStorageStore where sessionStorage is blocked', () => {
  it('takes the storage passed to it, which is not per tab, and queues into it', async () => {
    const entries = new Map<string, string>();
    const store = webStorageStore(memoryStorage(entries));
    expect(store.perTab).toBe(false);
    const client = t.make({ queue: { storage: store, storageKey: 'k' } });
    await settle(); // offline
    expect(client.send('chat', 1)).toBe('queued');
    await settle();
    expect(entries.get('k')).toContain('"data":1');
  });
});
