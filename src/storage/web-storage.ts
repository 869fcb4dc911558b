import type { WebStorage } from './dom-types.js';
import type { SessionSnapshot, SessionStore } from './store.js';

/**
 * A `SessionStore` on Web Storage, synchronous, so a queued message is on disk before `send`
 * returns. `sessionStorage` keeps one session per tab across reloads; `localStorage` also survives
 * closing the tab, shared by every tab of the origin: one tab at a time owns a stored session (Web
 * Locks), the others keep theirs in memory. Within a page, give each client its own
 * `queue.storageKey`.
 * @param storage @default globalThis.localStorage
 * @example
 * new RealtimeClient(url, { queue: { storage: webStorageStore(sessionStorage) } });
 */
export function webStorageStore(storage: WebStorage = globalThis.localStorage): SessionStore {
  let perTab = false;
  try {
    perTab = storage === globalThis.sessionStorage;
  } catch {
    // Where storage is blocked (a sandboxed or third-party iframe), reading `sessionStorage` throws
    // SecurityError: `storage`, the app's own, is not it.
  }
  return {
    load(key) {
      const text = storage.getItem(key);
      if (text === null) return undefined;
      // The client checks the shape of what any store returns (persistence.ts): text that is not JSON
      // (damaged, or another script's) goes back as it is, to be logged and written over like any
      // other foreign value. Thrown, it would count as a store failing now and then, whose session
      // is left unread and unwritten: this key would never hold a queue across a reload again.
      try {
        return JSON.parse(text) as SessionSnapshot;
      } catch {
        return text as never;
      }
    },
    save(key, snapshot: SessionSnapshot) {
      storage.setItem(key, JSON.stringify(snapshot));
    },
    perTab,
    remove(key) {
      storage.removeItem(key);
    },
  };
}
