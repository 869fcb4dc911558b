import type { IndexedDBFactory } from './dom-types.js';
import type { SessionSnapshot, SessionStore } from './store.js';

const STORE = 'sessions';

/**
 * A `SessionStore` on IndexedDB, for queues too large for Web Storage. Writes are asynchronous:
 * the client waits for each write before transmitting what it recorded, so a reload in between
 * never sends a message twice. One connection is kept between calls, but not for good: an open
 * that failed is forgotten (the next call opens anew), and so is a connection another tab wants
 * gone (`versionchange`), closed then, else that tab's upgrade or deletion would wait for this page
 * to go, and so is one that removed a session (its client closed), closed after the removal. A
 * call that finds its connection closed by the browser (site data cleared, Safari losing its
 * IndexedDB server in the background: `transaction()` throws) runs once more on a new one.
 * @param options.dbName @default 'surelink'
 * @param options.indexedDB @default globalThis.indexedDB
 * @example
 * new RealtimeClient(url, { queue: { storage: indexedDBStore() } });
 */
export function indexedDBStore(options: { dbName?: string; indexedDB?: IndexedDBFactory } = {}): SessionStore {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  let db: Promise<IDBDatabase> | undefined;
  const run = async <T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>, again?: 1): Promise<T> => {
    const p = (db ??= new Promise((resolve, reject) => {
      const req = factory.open(options.dbName ?? 'surelink', 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('indexedDB open failed'));
    }));
    let conn: IDBDatabase | undefined;
    // Closes this connection, and forgets it unless a newer one replaced it meanwhile.
    const drop = (): void => {
      conn?.close();
      if (db === p) db = undefined;
    };
    let tx: IDBTransaction;
    try {
      conn = await p;
      conn.onversionchange = drop;
      tx = conn.transaction(STORE, mode);
    } catch (error) {
      drop();
      if (conn && !again) return run(mode, op, 1);
      throw error;
    }
    const req = op(tx.objectStore(STORE));
    return new Promise<T>((resolve, reject) => {
      tx.oncomplete = () => resolve(req.result);
      // A failed request aborts the transaction: either event (the first rejects) says why, if known.
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('indexedDB transaction failed'));
    });
  };
  return {
    async load(key) {
      // The client checks the shape of what any store returns (persistence.ts).
      return run<SessionSnapshot | undefined>('readonly', (s) => s.get(key) as IDBRequest<SessionSnapshot | undefined>);
    },
    async save(key, snapshot: SessionSnapshot) {
      // Structured clone keeps the data as is; JSON round trip keeps it the same as the wire would.
      await run('readwrite', (s) => s.put(JSON.parse(JSON.stringify(snapshot)) as unknown, key));
    },
    async remove(key) {
      await run('readwrite', (s) => s.delete(key));
      // Its client closed: the connection goes too (the next call opens one), else a page that makes
      // and closes clients, each on a store of its own, keeps one open per client for good. An open
      // under way that fails is its own caller's to report.
      void db?.then(
        (conn) => conn.close(),
        () => undefined,
      );
      db = undefined;
    },
  };
}
