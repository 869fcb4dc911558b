/**
 * Delivery edge cases found by an audit of the outgoing side and its persistence.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionLostError } from '../../src/errors/index.js';
import { IDBFactory } from 'fake-indexeddb';
import { indexedDBStore } from '../../src/storage/indexeddb.js';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';
import { memoryStorage } from '../helpers/memory-storage.js';

// A page of the app: its client on the fake transport, its session in localStorage under 'k'.
const fx = useFakeClientFixture({
  heartbeat: false,
  reconnect: { initialDelayMs: 1000, jitter: 'none' },
  queue: { storage: webStorageStore(localStorage), storageKey: 'k' },
  rememberTransport: {}, // remembered, as by default
});
beforeEach(() => localStorage.clear());
const page = fx.make;

const sentData = () => fx.fake.last.framesOf('event').map((f) => [f.seq, f.data]);

describe('a stored value that is not JSON', () => {
  it('is ignored and written over: messages queued offline still survive the next reload', async () => {
    localStorage.setItem('k', '{"resume":"r1","deliv'); // a foreign or damaged value
    const first = page();
    await settle(); // loaded; connecting, never answered: offline
    expect(first.send('m', 1)).toBe('queued');
    page(); // the reload
    await settle();
    fx.fake.last.accept();
    await settle();
    expect(sentData()).toEqual([[1, 1]]);
  });
});

describe('an asynchronous store and a link lost while a write is under way', () => {
  // The batch was taken for transmission (and counted sent) before its write; the link
  // went before the write landed, so it was never transmitted, yet a new session counted it as
  // "sent in the old one": reported lost, never sent. It is queued again now (OutboundLog.untake).
  it('a message that never reached the wire is sent in the new session, not reported lost', async () => {
    let release: () => void = () => {};
    const store: SessionStore = {
      load: async () => undefined,
      save: () => new Promise<void>((resolve) => (release = resolve)),
      remove: async () => {},
    };
    const c = page({ queue: { storage: store, storageKey: 'a' } });
    const lost: unknown[] = [];
    c.on('error', (e) => {
      if (e instanceof SessionLostError) lost.push(...e.undelivered.map((m) => m.data));
    });
    await settle();
    fx.fake.last.accept();
    await settle();
    release(); // the write of the welcome's flush
    await settle();
    expect(c.send('m', 1)).toBe('sent'); // waits for its write
    const first = fx.fake.last;
    first.drop(); // before the write landed: #1 never went out
    release();
    await settle();
    expect(first.framesOf('event')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    fx.fake.last.accept({ resumed: false, resume: 'r2' }); // the session is gone
    for (let i = 0; i < 3; i++) {
      release();
      await settle();
    }
    expect(lost).toEqual([]);
    expect(sentData()).toEqual([[1, 1]]);
  });
});

/** Web Locks as persistence.test.ts fakes them: one holder per name, `ifAvailable` only. */
class FakeLocks {
  readonly #held = new Map<string, () => void>();

  get held(): string[] {
    return [...this.#held.keys()];
  }

  async request(name: string, _options: { ifAvailable: true }, grant: (lock: unknown) => Promise<void> | undefined) {
    if (this.#held.has(name)) return grant(null);
    let release = (): void => {};
    const gone = new Promise<void>((resolve) => this.#held.set(name, (release = resolve)));
    await Promise.race([grant({ name }), gone]);
    if (this.#held.get(name) === release) this.#held.delete(name);
  }
}

describe('a client closed while its store never answers the load', () => {
  afterEach(() => void vi.unstubAllGlobals());

  it('lets go of the lock, as it would have when giving up on the load: the next client owns the key', async () => {
    const locks = new FakeLocks();
    vi.stubGlobal('navigator', { locks });
    const warn = vi.fn();
    const logger = { debug() {}, info() {}, warn, error() {} };
    const hung: SessionStore = { load: () => new Promise(() => {}), save: () => {}, remove: () => {} };
    const first = page({ queue: { storage: hung, storageKey: 'k' }, logger });
    await settle();
    expect(locks.held).toEqual(['surelink:k']);
    first.close(); // before connectTimeoutMs: a remount, a route change
    await vi.advanceTimersByTimeAsync(3500);
    const next = page({ logger }); // localStorage, same key: this page's next mount
    await vi.advanceTimersByTimeAsync(3500); // as long as it waits for a load
    expect(warn).not.toHaveBeenCalled(); // not given up on: it owns the key
    next.send('m', 1);
    expect(JSON.parse(localStorage.getItem('k') ?? 'null')).toMatchObject({ outbound: { nextSeq: 2 } });
  });
});

describe('queue bounds apply to the offline queue only (QueueOptions, README)', () => {
  it.each([
    ['without storage', {}],
    ['with a store', { storage: webStorageStore(localStorage), storageKey: 'k' }],
  ])('maxMessages: 0 disables queueing, not sending: an open client sends, an offline one drops (%s)', async (_, q) => {
    const c = page({ queue: { maxMessages: 0, ...q } });
    const dropped: unknown[] = [];
    c.on('queue:overflow', (e) => dropped.push(...e.dropped.map((m) => m.data)));
    await settle();
    expect(c.send('m', 'offline')).toBe('dropped');
    fx.fake.last.accept();
    await settle();
    expect(c.send('m', 'online')).toBe('sent');
    expect(sentData()).toEqual([[1, 'online']]);
    expect(dropped).toEqual(['offline']);
    const reply = c.request('q', 1);
    const [req] = fx.fake.last.framesOf('request');
    fx.fake.last.push({ type: 'response', seq: 1, id: req!.id, ok: true, data: 'done' });
    await expect(reply).resolves.toBe('done');
  });

  it('maxBytes bounds the offline queue, not a message sent on an open link', async () => {
    const c = page({ queue: { maxBytes: 50 } });
    await settle();
    fx.fake.last.accept();
    await settle();
    expect(c.send('m', 'x'.repeat(100))).toBe('sent');
    expect(sentData()).toEqual([[1, 'x'.repeat(100)]]);
  });
});

describe('queue:expired is reported once, across a page reload', () => {
  it('a message expired offline is written out of the store, so the next page does not report it again', async () => {
    const expired: unknown[] = [];
    const first = page({ queue: { storage: webStorageStore(localStorage), storageKey: 'k', ttlMs: 5000 } });
    first.on('queue:expired', (e) => expired.push(...e.expired.map((m) => ['first', m.data])));
    await settle(); // offline: connecting, never answered
    first.send('m', 1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(expired).toEqual([['first', 1]]);
    const next = page({ queue: { storage: webStorageStore(localStorage), storageKey: 'k', ttlMs: 5000 } }); // a reload
    next.on('queue:expired', (e) => expired.push(...e.expired.map((m) => ['next', m.data])));
    await settle();
    fx.fake.last.accept();
    await settle();
    expect(expired).toEqual([['first', 1]]);
  });
});

describe('a store whose writes start failing (quota exceeded)', () => {
  // A failed write left the last snapshot that landed in the store; the client went on in memory
  // and transmitted what that snapshot still held as queued, and the next page restored the stale
  // snapshot and sent those messages again. A failed write before a transmission now removes it.
  it('the next page does not send again what this page sent after its write failed', async () => {
    const entries = new Map<string, string>();
    let full = false;
    const storage = memoryStorage(entries);
    const quota: Storage = {
      ...storage,
      setItem: (k, v) => {
        if (full) throw new DOMException('quota', 'QuotaExceededError');
        storage.setItem(k, v);
      },
    };
    const options = { queue: { storage: webStorageStore(quota), storageKey: 'k' } };
    const first = page(options);
    await settle(); // offline
    first.send('m', 1); // stored: queued, no session yet
    full = true; // from now on every write throws
    fx.fake.last.accept({ resume: 'r1' }); // #1 goes out (its write failed: the session goes on in memory)
    await settle();
    expect(sentData()).toEqual([[1, 1]]);
    fx.fake.last.push({ type: 'ack', ack: 1 }); // the server delivered it
    page(options); // a reload
    await settle();
    fx.fake.last.accept({ resume: 'r2' });
    await settle();
    expect(sentData()).toEqual([]); // not sent a second time
  });
});

describe('an asynchronous store whose write fails (a custom store, IndexedDB)', () => {
  /** A store over `inner` whose writes reject while `full`. */
  function failing(inner: SessionStore): { store: SessionStore; fail: (on: boolean) => void } {
    let full = false;
    const store: SessionStore = {
      load: (k) => inner.load(k),
      save: (k, s) => (full ? Promise.reject(new DOMException('quota', 'QuotaExceededError')) : inner.save(k, s)),
      remove: (k) => inner.remove(k),
    };
    return { store, fail: (on) => void (full = on) };
  }
  const map = new Map<string, SessionSnapshot>();
  const custom: SessionStore = {
    load: async (k) => map.get(k),
    save: async (k, s) => void map.set(k, s),
    remove: async (k) => void map.delete(k),
  };
  /** IndexedDB's tasks (fake-indexeddb's setImmediate, faked: a 0 ms advance does not run it) too. */
  const idle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(1);
  };

  for (const [name, inner] of [
    ['a custom store', () => (map.clear(), custom)],
    ['indexedDBStore', () => indexedDBStore({ indexedDB: new IDBFactory() })],
  ] as const)
    it(`${name}: the next page does not send again what this page sent after its write failed`, async () => {
      const { store, fail } = failing(inner());
      const options = { queue: { storage: store, storageKey: 'k' } };
      const first = page(options);
      await idle(); // offline
      first.send('m', 1); // stored: queued, no session yet
      await idle();
      fail(true); // from now on every write rejects
      fx.fake.last.accept({ resume: 'r1' }); // #1 goes out (its write failed: the session goes on in memory)
      await idle();
      expect(sentData()).toEqual([[1, 1]]);
      fx.fake.last.push({ type: 'ack', ack: 1 }); // the server delivered it
      page(options); // a reload
      await idle();
      fx.fake.last.accept({ resume: 'r2' });
      await idle();
      expect(sentData()).toEqual([]); // not sent a second time
    });

  // Offline, a failed write sends nothing: the last write that landed is still true as far as it
  // goes (it lacks the newer messages), so it is kept; removed, a reload would lose what it holds.
  for (const [name, make] of [
    ['a custom store', () => (map.clear(), failing(custom))],
    [
      'webStorageStore (quota exceeded)',
      () => {
        const storage = memoryStorage(new Map());
        let full = false;
        const setItem: Storage['setItem'] = (k, v) => {
          if (full) throw new DOMException('quota', 'QuotaExceededError');
          storage.setItem(k, v);
        };
        return { store: webStorageStore({ ...storage, setItem }), fail: (on: boolean) => void (full = on) };
      },
    ],
  ] as const)
    it(`${name}: a write failing offline keeps the last one that landed, whose queue a reload sends`, async () => {
      const { store, fail } = make();
      const options = { queue: { storage: store, storageKey: 'k' } };
      const first = page(options);
      await idle(); // offline
      first.send('m', 1); // stored
      await idle();
      fail(true);
      first.send('m', 2); // its write fails: #2 is in memory only, nothing went out
      await idle();
      page(options); // a reload, still offline
      await idle();
      fx.fake.last.accept();
      await idle();
      expect(sentData()).toEqual([[1, 1]]); // what the store held is sent; #2 it never held
    });
});

describe('an asynchronous store and a new link up before a write under way lands', () => {
  /** A client on a store whose writes land when `release()` is called, oldest first. */
  async function pageWithHeldWrites() {
    const held: (() => void)[] = [];
    const store: SessionStore = {
      load: async () => undefined,
      save: () => new Promise<void>((resolve) => held.push(resolve)),
      remove: async () => {},
    };
    const c = page({ queue: { storage: store, storageKey: 'a' } });
    const lost: unknown[] = [];
    c.on('error', (e) => {
      if (e instanceof SessionLostError) lost.push(...e.undelivered.map((m) => m.data));
    });
    const release = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        held.shift()?.();
        await settle();
      }
    };
    await settle();
    fx.fake.last.accept(); // resume token 'r1'
    await settle();
    await release(); // the welcome's flush
    return { c, lost, release };
  }

  // The batch was taken for transmission (counted as sent) before its write; a new link's welcome
  // came before the write landed, so the new session reported it lost and the write, landing on a
  // link that was not its own, sent nothing: never transmitted, yet reported lost and never sent.
  it('a new session sends it, once, and does not report it lost', async () => {
    const { c, lost, release } = await pageWithHeldWrites();
    expect(c.send('m', 1)).toBe('sent'); // waits for its write
    const first = fx.fake.last;
    first.drop(); // #1 never went out
    await vi.advanceTimersByTimeAsync(1000);
    fx.fake.last.accept({ resumed: false, resume: 'r2' }); // up before the write lands: a new session
    await settle();
    await release();
    expect(first.framesOf('event')).toEqual([]);
    expect(lost).toEqual([]);
    expect(sentData()).toEqual([[1, 1]]);
  });

  it('a resumed session sends it once', async () => {
    const { c, lost, release } = await pageWithHeldWrites();
    expect(c.send('m', 1)).toBe('sent');
    fx.fake.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    fx.fake.last.accept({ resumed: true, resume: 'r1', ack: 0 });
    await settle();
    await release();
    expect(lost).toEqual([]);
    expect(sentData()).toEqual([[1, 1]]);
  });

  // Re-sent after a resume, #1 had reached the server on an earlier link: taken back when its write
  // lands after the link went, it must still count as sent, or the next welcome acking it is refused.
  it('a re-send taken back still counts as sent: the next resume may acknowledge it', async () => {
    const { c, release } = await pageWithHeldWrites();
    c.send('m', 1);
    await release();
    fx.fake.last.drop(); // #1 went out, never acknowledged
    await vi.advanceTimersByTimeAsync(1000);
    fx.fake.last.accept({ resumed: true, resume: 'r1', ack: 0 }); // #1 taken again for a re-send
    await settle();
    fx.fake.last.drop(); // before its write landed
    await release(); // lands with no link
    await vi.advanceTimersByTimeAsync(2000); // the second retry in a row
    fx.fake.last.accept({ resumed: true, resume: 'r1', ack: 1 }); // the server has #1
    await settle();
    await release();
    expect(c.state).toBe('open');
    expect(c.queued).toBe(0);
    expect(sentData()).toEqual([]);
  });
});
