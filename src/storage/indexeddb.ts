import type { SessionSnapshot, SessionStore } from './store.js';

const STORE = 'sessions';

/**
 * A `SessionStore` on IndexedDB, for queues too large for Web Storage. Writes are asynchronous:
 * the client waits for each write before transmitting what it recorded, so a reload in between
 * never sends a message twice.
 * @param options.dbName @default 'surelink'
 * @param options.indexedDB @default globalThis.indexedDB
 * @example
 * new RealtimeClient(url, { queue: { storage: indexedDBStore() } });
 */
export function indexedDBStore(options: { dbName?: string; indexedDB?: IDBFactory } = {}): SessionStore {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> =>
    (db ??= new Promise((resolve, reject) => {
      const req = factory.open(options.dbName ?? 'surelink', 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('indexedDB open failed'));
    }));
  const run = async <T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const tx = (await open()).transaction(STORE, mode);
    const req = op(tx.objectStore(STORE));
    return new Promise<T>((resolve, reject) => {
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? new Error('indexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('indexedDB transaction aborted'));
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
    },
  };
}
