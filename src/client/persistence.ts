import { isSnapshot, type SessionStore } from '../storage/store.js';
import type { ResolvedOptions } from './options.js';
import type { ClientSession } from './session.js';

/** Where a client's session is mirrored, and the options it is mirrored with (logger, clock, bound). */
export interface PersistenceTarget {
  readonly store: SessionStore;
  readonly key: string;
  readonly session: ClientSession;
  readonly options: ResolvedOptions;
}

const LOAD_FAILED = 'surelink: could not load the persisted session';

/**
 * Per key, the lock of a client of this page that was closed, until let go (the promise its
 * `request()` returned), or without Web Locks its removal. A client created right after (React
 * StrictMode's second mount, a remount on a route change, a re-login) waits for it before its
 * `ifAvailable` request, else it would find the lock taken, as if by another tab, and run in memory
 * for good, or before its load, else it would read, and send again, the queue `close()` returned.
 * A settled entry stays: one per key.
 */
const closing = new Map<string, unknown>();

/** What is used of the Web Locks API (`navigator.locks`). */
interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable: true },
    grant: (lock: unknown) => Promise<void> | undefined,
  ): Promise<unknown>;
}

/**
 * Mirrors the session into a `SessionStore`. Where the Web Locks API exists (browsers), one client
 * at a time owns a stored session: two tabs resuming one session would take it from each other
 * forever and number their messages alike (the server drops one of each pair as a duplicate).
 * A second tab runs with its session in memory instead, and says so in the log. Writes are
 * serialised, after the load; a synchronous store is written before `save()` returns once loaded,
 * an asynchronous one through a promise the caller waits on before transmitting. Storage failures
 * are logged, never thrown at the app: the session goes on in memory. So does it while a save
 * given up on (see `save`) is under way, and for good after a load that failed or was given up on
 * (see the constructor): the stored session, unread, is left to the next page.
 * Otherwise each write that lands tells the session the delivered count it holds: acks never
 * say more (session.ts), so a page dying mid-write is re-sent what it had not stored, not a gap.
 */
export class Persistence {
  /** Stands in for every client without storage: saves nothing, holds nothing. */
  static readonly none = new Persistence();

  readonly #t: PersistenceTarget | undefined;
  #chain: Promise<void> | undefined;
  /**
   * Cleared (client closed) or another client owns the key: for good, even if a queue handler's
   * `close()` came in the middle of a save.
   */
  #cleared: true | undefined;
  /** This client owns the key and read it: the store holds its session (or nothing). */
  #owner: true | undefined;
  /** Lets go of the key's lock; set while this client holds one. */
  #release: (() => void) | undefined;
  /** Settles once this client's lock request is over: refused, or granted and let go. */
  #held: Promise<unknown> | undefined;
  /** Stops the bound of the load or save under way (`#within`): `clear()` leaves no timer behind. */
  #stop: (() => void) | undefined;
  /** A save was given up on and has not settled yet: no other starts meanwhile (see `save`). */
  #late: boolean | undefined;
  /** Resolves once a persisted session (if any) was restored; `undefined` without storage. */
  declare readonly ready: Promise<void> | undefined;

  constructor(target?: PersistenceTarget) {
    this.#t = target;
    if (!target) return;
    // Writes wait for the load (`#chain`): none may replace the stored session before it was read.
    // One that never answers (a hung IndexedDB) must not keep the client from connecting: given up
    // on, it leaves the stored session as it is, for the next page, and this client without storage.
    // Loaded (or nothing to load) and owned: the store holds the count, and acks wait for it from now on.
    const loading = this.#load(target).then(() => void (this.#cleared || target.session.writing()()));
    this.ready = this.#track(
      this.#within(loading, target, (reason) => {
        target.options.logger.warn(LOAD_FAILED, reason);
        this.#cleared = true;
        this.#release?.(); // a lock granted late is let go by the load
      }),
    );
  }

  async #load(t: PersistenceTarget): Promise<void> {
    if (!(await this.#own(t))) {
      this.#cleared = true;
      // Another tab, or another client of this page on the same key (two on one URL without their own).
      return t.options.logger.warn(`surelink: another tab or client holds '${t.key}': one queue.storageKey per client`);
    }
    // Closed or given up on meanwhile: the stored session is left unread (see `clear()`), unlocked.
    if (this.#cleared) return this.#release?.();
    let snapshot: unknown;
    try {
      snapshot = await t.store.load(t.key);
    } catch (error) {
      // Unread, the stored session (the last page's queue) is left as it is, and unlocked, as after
      // a load given up on: a store failing now and then (IndexedDB's open) must not have this
      // page write its own over it.
      this.#cleared = true;
      this.#release?.();
      return t.options.logger.warn(LOAD_FAILED, error);
    }
    try {
      if (this.#cleared) return; // closed, or given up on, meanwhile: left unread, as above
      this.#owner = true;
      if (!snapshot) return;
      // Checked here, whatever the store: restoring a wrong shape would corrupt the session half-way.
      if (!isSnapshot(snapshot)) throw new TypeError('not a session snapshot');
      t.session.restore(snapshot);
    } catch (error) {
      t.options.logger.warn(LOAD_FAILED, error);
    }
  }

  /**
   * Writes the current session; returns a promise only when the write is still under way.
   * `sending`: what it records goes out once it settles (see `failed` below).
   *
   * A store's save not settled within `connectTimeoutMs` (as for the load) is given up on, logged once: the chain, and the transmission waiting for it, go
   * on. A store may complete writes in any order, so none starts until it settles (this older one
   * could land last): saves are skipped meanwhile (the session goes on in memory), and it is
   * followed by a save of the session as it is then; `clear()`'s removal waits for it too.
   */
  save(sending?: true): Promise<void> | undefined {
    const t = this.#t;
    if (!t || this.#cleared || this.#late) return undefined;
    // Checked again when it runs: a save queued behind the load is void if another tab owns the key,
    // and one queued behind a save then given up on is left to the save that follows that one. The
    // session is read then too: one read before the load (no resume token, the last page's queue
    // missing) or another write would be older than what it stores, and could be the last to land.
    return this.#write(() => {
      if (this.#cleared || this.#late) return undefined;
      const landed = t.session.writing();
      // Failed, a write `sending` what it records leaves the last one that landed, which holds as
      // queued what goes out now: removed first, else the next page would send it again.
      const failed = (e: unknown): void | Promise<void> => (this.#failed(e), sending && t.store.remove(t.key));
      let saving;
      try {
        saving = t.store.save(t.key, t.session.snapshot());
      } catch (e) {
        return failed(e);
      }
      if (!(saving instanceof Promise)) return landed();
      const done = saving.then(landed, failed);
      return this.#within(done, t, (reason) => {
        this.#late = true;
        this.#failed(reason);
        // Writes queued from now on (clear()'s removal) wait for it, and for the removal its failure
        // makes (a store may complete them in any order), and a save of the session as it is then
        // follows it.
        void this.#track(done).then(() => {
          this.#late = false;
          void this.save();
        });
      });
    });
  }

  /**
   * `work`, or nothing once `connectTimeoutMs` (the time the connector gives an auth function)
   * passed without it settling: then `late` runs and the caller goes on. `clear()` stops the bound.
   */
  #within(work: Promise<void>, t: PersistenceTarget, late: (reason: string) => void): Promise<void> {
    const { clock, connectTimeoutMs: ms } = t.options;
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        late(`no answer in ${ms} ms`);
        resolve();
      }, ms);
      void work.then(resolve, reject).finally((this.#stop = () => clock.clearTimeout(timer)));
    });
  }

  /** Runs `write` after the pending one (if any); a failure is logged, never thrown. */
  #write(write: () => void | Promise<void>): Promise<void> | undefined {
    try {
      const result = this.#chain ? this.#chain.then(write) : write();
      return result instanceof Promise ? this.#track(result) : undefined;
    } catch (error) {
      this.#failed(error);
      return undefined;
    }
  }

  #track(write: Promise<void>): Promise<void> {
    const chain: Promise<void> = write
      .catch((e: unknown) => this.#failed(e))
      .finally(() => {
        if (this.#chain === chain) this.#chain = undefined;
      });
    return (this.#chain = chain);
  }

  /**
   * Forgets the persisted session (client closed) if this client owns the key and read it: at once
   * when no write is under way, else after it, however late (it leaves no timer behind), since it
   * could land after the removal. Closed before its load read it (React StrictMode's first mount),
   * it leaves the stored session, the last page's, as it is: `close()` cannot return messages it
   * never read, and the next client on the key restores them. Lets go of the key once done; a client
   * created meanwhile on the key waits for that (`closing`): it neither adopts the closed one's
   * session nor takes it for another tab's.
   */
  clear(): void {
    const t = this.#t;
    const first = !this.#cleared;
    this.#cleared = true;
    if (!t || !first) return;
    this.#stop?.();
    // Not the owner yet (its load not read), it has nothing to remove: it lets go at once, not behind
    // a load that may never answer (given up on, that load would have let go too).
    const removing = this.#owner && this.#write(() => t.store.remove(t.key));
    // Once removed, it lets go; the next client on the key waits for both (no lock where a lock
    // manager refuses, as in an opaque origin: the removal still counts).
    closing.set(
      t.key,
      Promise.resolve(removing).then(() => (this.#release?.(), this.#held)),
    );
  }

  /**
   * Takes the key's Web Lock if free (true), or learns that another client holds it (false), once a
   * client of this page closed on the key let go of it (`closing`). True for a store of this tab
   * alone, where there is no Web Locks API (Node 20 and 22; Node 24 has them per process) or
   * where it refuses (an opaque origin), once such a client's removal is done.
   */
  #own(t: PersistenceTarget): Promise<boolean> {
    const locks = t.store.perTab
      ? undefined
      : (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
    const after = Promise.resolve(closing.get(t.key));
    return !locks
      ? after.then(() => true)
      : new Promise<boolean>((resolve) => {
          this.#held = after
            .then(() =>
              locks.request(`surelink:${t.key}`, { ifAvailable: true }, (lock) => {
                resolve(!!lock);
                // Held until `clear()` (or the page goes): a promise that `#release` resolves.
                return lock ? new Promise<void>((r) => (this.#release = r)) : undefined;
              }),
            )
            .catch(() => resolve(true));
        });
  }

  /** Also lets acks go out without the store (as without storage) until a write lands again. */
  #failed(error: unknown): void {
    this.#t?.session.stored();
    this.#t?.options.logger.warn('surelink: could not persist the session', error);
  }
}
