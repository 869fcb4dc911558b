import { isSnapshot, type SessionSnapshot, type SessionStore } from './store.js';

/**
 * A `SessionStore` on Web Storage, synchronous, so a queued message is on disk before `send`
 * returns. `sessionStorage` keeps one session per tab across reloads (the safe choice when a user
 * may open several tabs); `localStorage` also survives closing the tab, shared by every tab of the
 * origin: give each client its own `queue.storageKey` then.
 * @param storage @default globalThis.localStorage
 * @example
 * new RealtimeClient(url, { queue: { storage: webStorageStore(sessionStorage) } });
 */
export function webStorageStore(storage: Storage = globalThis.localStorage): SessionStore {
  return {
    load(key) {
      const text = storage.getItem(key);
      if (text === null) return undefined;
      try {
        const value: unknown = JSON.parse(text);
        return isSnapshot(value) ? value : undefined;
      } catch {
        return undefined;
      }
    },
    save(key, snapshot: SessionSnapshot) {
      storage.setItem(key, JSON.stringify(snapshot));
    },
    remove(key) {
      storage.removeItem(key);
    },
  };
}
