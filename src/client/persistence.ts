import { isSnapshot, type SessionStore } from '../storage/store.js';
import type { Logger } from '../util/logger.js';
import type { ClientSession } from './session.js';

/** Where a client's session is mirrored. */
export interface PersistenceTarget {
  readonly store: SessionStore;
  readonly key: string;
  readonly session: ClientSession;
  readonly logger: Logger;
}

/**
 * Mirrors the session into a `SessionStore`. Writes are serialised; a synchronous store is
 * written before `save()` returns, an asynchronous one through a promise the caller waits on
 * before transmitting. Storage failures are logged, never thrown at the app: the session goes on
 * in memory.
 */
export class Persistence {
  /** Stands in for every client without storage: saves nothing, holds nothing. */
  static readonly none = new Persistence();

  readonly #t: PersistenceTarget | undefined;
  #chain: Promise<void> | undefined;
  /** Cleared (client closed): for good, even if a queue handler's `close()` came in the middle of a save. */
  #cleared = false;
  /** Resolves once a persisted session (if any) was restored; `undefined` without storage. */
  readonly ready: Promise<void> | undefined;

  constructor(target?: PersistenceTarget) {
    this.#t = target;
    this.ready = target && this.#load(target);
  }

  async #load(t: PersistenceTarget): Promise<void> {
    try {
      const snapshot: unknown = await t.store.load(t.key);
      if (!snapshot) return;
      // Checked here, whatever the store: restoring a wrong shape would corrupt the session half-way.
      if (!isSnapshot(snapshot)) throw new TypeError('not a session snapshot');
      t.session.restore(snapshot);
    } catch (error) {
      t.logger.warn('surelink: could not load the persisted session', error);
    }
  }

  /** Writes the current session; returns a promise only when the write is still under way. */
  save(): Promise<void> | undefined {
    const t = this.#t;
    if (!t || this.#cleared) return undefined;
    const snapshot = t.session.snapshot();
    return this.#write(() => t.store.save(t.key, snapshot));
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
   * Forgets the persisted session (client closed): at once when no write is under way, so a client
   * created right after `close()` with the same key does not adopt the closed one's session.
   */
  clear(): void {
    const t = this.#t;
    this.#cleared = true;
    if (t) void this.#write(() => t.store.remove(t.key));
  }

  #failed(error: unknown): void {
    this.#t?.logger.warn('surelink: could not persist the session', error);
  }
}
