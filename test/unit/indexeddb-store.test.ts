// indexedDBStore() against an IndexedDB implementation (fake-indexeddb), one fresh IDBFactory per
// test: what it stores and reads back, and how it behaves when the database fails, is closed under
// it, or is wanted by another tab (a version change or a deletion).
import { IDBFactory, IDBObjectStore, forceCloseDatabase } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { indexedDBStore } from '../../src/storage/indexeddb.js';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const snapshot: SessionSnapshot = {
  resume: 'r-7f3a',
  delivered: 130,
  outbound: {
    v: 1,
    nextSeq: 14,
    sentUpTo: 12,
    acked: 10,
    entries: [
      { seq: 11, event: 'chat:message', data: { text: 'hello', to: ['ann', 'bo'] }, queuedAt: 1_700_000_000_000 },
      { seq: 12, event: 'rpc', data: { op: 'join', room: 7 }, queuedAt: 1_700_000_000_100, requestId: 9_123 },
      { seq: 13, event: 'chat:typing', data: null, queuedAt: 1_700_000_000_200, expiresAt: 1_700_000_030_200 },
    ],
  },
};

let factory: IDBFactory;
/** Every connection the factory opened, in order (the store keeps its own to itself). */
let connections: IDBDatabase[];

/** `factory`, recording the connection of each open that succeeds. */
function watched(f: IDBFactory): IDBFactory {
  const open = f.open.bind(f);
  const mine = connections; // not the next test's, should an open of this one succeed late
  f.open = (name: string, version?: number) => {
    const req = open(name, version);
    req.addEventListener('success', () => mine.push(req.result));
    return req;
  };
  return f;
}

/** Settles with the request's outcome (the `blocked` event does not settle it). */
function done(req: IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    req.addEventListener('success', () => resolve(req.result));
    req.addEventListener('error', () => reject(req.error ?? new Error('request failed')));
  });
}

/** Resolves with 'blocked' when the request is blocked, with 'success' when it succeeds. */
function firstOf(req: IDBOpenDBRequest): Promise<'blocked' | 'success'> {
  return new Promise((resolve) => {
    req.addEventListener('blocked', () => resolve('blocked'));
    req.addEventListener('success', () => resolve('success'));
  });
}

describe('indexedDBStore on an IndexedDB (fake-indexeddb)', () => {
  beforeEach(() => {
    connections = [];
    factory = watched(new IDBFactory());
  });
  afterEach(() => {
    for (const db of connections) db.close();
  });

  it('saves, loads and removes a session snapshot', async () => {
    const store = indexedDBStore({ indexedDB: factory });
    await store.save('surelink:wss://a/realtime', snapshot);
    expect(await store.load('surelink:wss://a/realtime')).toEqual(snapshot);
    await store.remove('surelink:wss://a/realtime');
    expect(await store.load('surelink:wss://a/realtime')).toBeUndefined();
  });

  it('loads nothing for a key never saved', async () => {
    const store = indexedDBStore({ indexedDB: factory });
    await store.save('a', snapshot);
    expect(await store.load('b')).toBeUndefined();
  });

  it('stores the data as the wire would give it (JSON), not as the app holds it', async () => {
    const store = indexedDBStore({ indexedDB: factory });
    const data = { at: new Date(Date.UTC(2026, 0, 2)), gone: undefined, n: Number.NaN, list: [undefined] };
    const entry = { seq: 14, event: 'm', data, queuedAt: 1 };
    const outbound = { ...snapshot.outbound, entries: [entry] };
    await store.save('k', { ...snapshot, outbound });
    data.list.push(undefined); // changed by the app after the write: not what was stored
    const loaded = await store.load('k');
    expect(loaded?.outbound.entries[0]?.data).toEqual({ at: '2026-01-02T00:00:00.000Z', n: null, list: [null] });
    expect(Object.keys(loaded?.outbound.entries[0]?.data as object)).toEqual(['at', 'n', 'list']);
  });

  it('two stores on one database see each other’s writes; another database name is apart', async () => {
    const a = indexedDBStore({ indexedDB: factory });
    const b = indexedDBStore({ indexedDB: factory, dbName: 'surelink' });
    const other = indexedDBStore({ indexedDB: factory, dbName: 'other' });
    await a.save('k', snapshot);
    expect(await b.load('k')).toEqual(snapshot);
    await b.save('k', { ...snapshot, delivered: 131 });
    expect(await a.load('k')).toMatchObject({ delivered: 131 });
    expect(await other.load('k')).toBeUndefined();
    await a.remove('k');
    expect(await b.load('k')).toBeUndefined();
  });

  it('lets go of its connection once it removed a session (its client closed); the next call opens another', async () => {
    const store = indexedDBStore({ indexedDB: factory });
    await store.save('k', snapshot);
    await store.remove('k');
    expect(connections).toHaveLength(1);
    expect(() => connections[0]?.transaction('sessions')).toThrow(); // closed: it refuses new transactions
    expect(await store.load('k')).toBeUndefined();
    expect(connections).toHaveLength(2);
  });

  it('one store shared by two clients: a removal by one lets the writes of the other under way complete', async () => {
    const store = indexedDBStore({ indexedDB: factory });
    await store.save('a', snapshot);
    const saving = store.save('b', snapshot);
    await store.remove('a');
    await saving;
    await store.save('b', { ...snapshot, delivered: 131 }); // on a new connection
    expect(await store.load('b')).toMatchObject({ delivered: 131 });
  });

  describe('faults', () => {
    it('an open that fails is not cached: the next call opens again', async () => {
      // A database of this name at a higher version (a newer app in another tab): open(1) fails.
      const newer = (await done(factory.open('surelink', 2))) as IDBDatabase;
      newer.close();
      const store = indexedDBStore({ indexedDB: factory });
      await expect(store.load('k')).rejects.toMatchObject({ name: 'VersionError' });
      await done(factory.deleteDatabase('surelink'));
      await store.save('k', snapshot);
      expect(await store.load('k')).toEqual(snapshot);
    });

    it('an open that throws (no IndexedDB for this origin) rejects, and is tried again on the next call', async () => {
      const open = factory.open.bind(factory);
      const opening = vi
        .fn<IDBFactory['open']>()
        .mockImplementationOnce(() => {
          throw new DOMException('access denied', 'SecurityError');
        })
        .mockImplementation(open);
      const store = indexedDBStore({ indexedDB: { ...factory, open: opening } as IDBFactory });
      let loading: Promise<unknown> | undefined;
      expect(() => (loading = Promise.resolve(store.load('k')))).not.toThrow();
      await expect(loading).rejects.toMatchObject({ name: 'SecurityError' });
      await store.save('k', snapshot);
      expect(await store.load('k')).toEqual(snapshot);
      expect(opening).toHaveBeenCalledTimes(2);
    });

    it('a connection the browser closed (close event) is replaced by a new one', async () => {
      const store = indexedDBStore({ indexedDB: factory });
      await store.save('k', snapshot);
      forceCloseDatabase(connections[0] as never); // DevTools cleared the site's data, say
      await store.save('k', { ...snapshot, delivered: 131 });
      expect(await store.load('k')).toMatchObject({ delivered: 131 });
      expect(connections).toHaveLength(2);
    });

    it('a connection closed before its close event (transaction() throws) is retried once on a new one', async () => {
      const store = indexedDBStore({ indexedDB: factory });
      await store.save('k', snapshot);
      connections[0]?.close(); // close pending: transaction() throws InvalidStateError, no event yet
      let saving: Promise<unknown> | undefined;
      expect(() => (saving = Promise.resolve(store.save('k', { ...snapshot, delivered: 131 })))).not.toThrow();
      await saving;
      expect(await store.load('k')).toMatchObject({ delivered: 131 });
      expect(connections).toHaveLength(2);
    });

    it('calls that find the connection closed at once share one new connection', async () => {
      const store = indexedDBStore({ indexedDB: factory });
      await store.save('k', snapshot);
      connections[0]?.close();
      await Promise.all([store.save('a', snapshot), store.save('b', snapshot), store.load('k')]);
      expect(connections).toHaveLength(2); // none opened for nothing, none left open and unused
      expect(await store.load('a')).toEqual(await store.load('b'));
    });

    it('a transaction() that throws again on a new connection rejects, without throwing or looping', async () => {
      // A database of this name and version made by other code, without the store's object store.
      ((await done(factory.open('surelink', 1))) as IDBDatabase).close();
      const store = indexedDBStore({ indexedDB: factory });
      let loading: Promise<unknown> | undefined;
      expect(() => (loading = Promise.resolve(store.load('k')))).not.toThrow();
      await expect(loading).rejects.toMatchObject({ name: 'NotFoundError' });
      expect(connections.length).toBeLessThanOrEqual(3); // the one above, the store's, one retry
    });

    it('another tab deleting the database is not blocked: the store lets go, and recreates it when next used', async () => {
      const store = indexedDBStore({ indexedDB: factory });
      await store.save('k', snapshot);
      const deleting = factory.deleteDatabase('surelink');
      expect(await firstOf(deleting as IDBOpenDBRequest)).toBe('success');
      expect(await store.load('k')).toBeUndefined();
      await store.save('k', snapshot);
      expect(await store.load('k')).toEqual(snapshot);
    });

    it('another tab upgrading the database is not blocked; the store then rejects (VersionError) instead of hanging', async () => {
      const store = indexedDBStore({ indexedDB: factory });
      await store.save('k', snapshot);
      const upgrading = factory.open('surelink', 2);
      expect(await firstOf(upgrading)).toBe('success');
      await expect(store.load('k')).rejects.toMatchObject({ name: 'VersionError' });
    });

    it('an open queued behind a deletion that another store blocks goes through once that store lets go', async () => {
      // Tab A's store holds a connection; the app in tab B deletes the database (logging out, say),
      // then tab B's store opens it: behind the deletion, which waits for tab A's connection.
      const a = indexedDBStore({ indexedDB: factory });
      await a.save('k', snapshot);
      const b = indexedDBStore({ indexedDB: factory });
      const deleting = factory.deleteDatabase('surelink');
      const saved = b.save('k', { ...snapshot, delivered: 131 });
      expect(await firstOf(deleting as IDBOpenDBRequest)).toBe('success'); // not 'blocked' by tab A
      await saved;
      expect(await a.load('k')).toMatchObject({ delivered: 131 });
    });

    it('an aborted transaction (quota exceeded, say) rejects; the store goes on working', async () => {
      const store = indexedDBStore({ indexedDB: factory });
      await store.save('k', snapshot);
      const put = IDBObjectStore.prototype.put;
      const spy = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementationOnce(function (
        this: IDBObjectStore,
        ...a
      ) {
        const req = put.apply(this, a);
        this.transaction.abort();
        return req;
      });
      await expect(store.save('k', { ...snapshot, delivered: 131 })).rejects.toThrow();
      spy.mockRestore();
      expect(await store.load('k')).toEqual(snapshot); // the aborted write left nothing
      await store.save('k', { ...snapshot, delivered: 132 });
      expect(await store.load('k')).toMatchObject({ delivered: 132 });
      expect(connections).toHaveLength(1);
    });
  });
});

// Through the client, on the fake transport (as test/unit/persistence.test.ts): a page that cannot
// connect queues, the next page on the same IndexedDB restores the queue and sends it once.
describe('a client on indexedDBStore across a page reload', () => {
  let fake: FakeTransport;
  let clients: RealtimeClient[];
  const page = (storage: SessionStore): RealtimeClient => {
    const c = new RealtimeClient('ws://test.invalid/realtime', {
      transports: [fake],
      lifecycle: false,
      reconnect: { initialDelayMs: 1000, jitter: 'none' },
      queue: { storage, storageKey: 'k' },
    });
    clients.push(c);
    return c;
  };
  const sentData = () => fake.last.framesOf('event').map((f) => [f.seq, f.data]);
  useFakeClients(
    () => {
      connections = [];
      factory = watched(new IDBFactory());
      fake = new FakeTransport();
      clients = [];
    },
    () => clients,
  );
  /**
   * IndexedDB's tasks (fake-indexeddb's setImmediate, faked too: a 0 ms advance does not run it)
   * and the client's microtasks, until the store has settled: 20 ms of the fake clock.
   */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(1);
  };

  it('the next page restores what the last one queued offline and sends it once', async () => {
    const before = page(indexedDBStore({ indexedDB: factory }));
    await settle(); // connecting, never answered: the page is offline
    for (const n of [1, 2, 3]) expect(before.send('m', { n })).toBe('queued');
    await settle();
    const after = page(indexedDBStore({ indexedDB: factory })); // the reload, on the same IndexedDB
    await settle();
    fake.last.accept();
    await settle();
    expect(sentData()).toEqual([
      [1, { n: 1 }],
      [2, { n: 2 }],
      [3, { n: 3 }],
    ]);
    expect(after.queued).toBe(0);
  });

  it('a client closed leaves no connection open: a page that makes and closes clients does not pile them up', async () => {
    const client = page(indexedDBStore({ indexedDB: factory }));
    await settle();
    fake.last.accept();
    client.send('m', 1);
    await settle();
    expect(connections).toHaveLength(1);
    client.close();
    await settle();
    for (const db of connections) expect(() => db.transaction('sessions')).toThrow();
  });

  it('keeps storing after the browser closed the connection under it', async () => {
    const before = page(indexedDBStore({ indexedDB: factory }));
    await settle();
    before.send('m', 1);
    await settle();
    forceCloseDatabase(connections[0] as never);
    await settle();
    before.send('m', 2); // stored on a new connection, else lost with the page
    await settle();
    page(indexedDBStore({ indexedDB: factory }));
    await settle();
    fake.last.accept();
    await settle();
    expect(sentData()).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('a page whose load failed leaves the stored session to the next page, instead of writing over it', async () => {
    const before = page(indexedDBStore({ indexedDB: factory }));
    await settle(); // offline: connecting, never answered
    before.send('m', 'queued by the first page');
    await settle();
    // The second page's first open fails (an UnknownError now and then), its later ones work.
    const open = factory.open.bind(factory);
    const opening = vi
      .fn<IDBFactory['open']>()
      .mockImplementationOnce(() => {
        throw new DOMException('Internal error opening backing store', 'UnknownError');
      })
      .mockImplementation(open);
    const second = page(indexedDBStore({ indexedDB: { ...factory, open: opening } as IDBFactory }));
    await settle();
    second.send('m', 'queued by the second page'); // in memory: not written over the first page's
    await settle();
    expect(opening).toHaveBeenCalledTimes(1);
    page(indexedDBStore({ indexedDB: factory }));
    await settle();
    fake.last.accept();
    await settle();
    expect(sentData()).toEqual([[1, 'queued by the first page']]);
  });

  it('a page whose load failed lets go of the stored session (Web Locks): another tab adopts it', async () => {
    // navigator.locks as the client uses it: one holder per name, asked `ifAvailable`.
    const held = new Set<string>();
    const locks = {
      async request(name: string, _o: unknown, grant: (lock: unknown) => Promise<void> | undefined) {
        if (held.has(name)) return grant(null);
        held.add(name);
        await grant({ name });
        held.delete(name);
      },
    };
    vi.stubGlobal('navigator', { locks });
    try {
      const before = page(indexedDBStore({ indexedDB: factory }));
      await settle();
      before.send('m', 'queued by the first page');
      await settle();
      held.clear(); // the page died (no close()): the browser let go of its lock
      const failing = { ...factory, open: () => failOpen() } as IDBFactory;
      page(indexedDBStore({ indexedDB: failing }));
      await settle();
      expect([...held]).toEqual([]); // not held for the rest of this page's life
      page(indexedDBStore({ indexedDB: factory })); // another tab
      await settle();
      expect([...held]).toEqual(['surelink:k']);
      fake.last.accept();
      await settle();
      expect(sentData()).toEqual([[1, 'queued by the first page']]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

function failOpen(): never {
  throw new DOMException('Internal error opening backing store', 'UnknownError');
}
