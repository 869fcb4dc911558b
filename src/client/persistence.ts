import type { SessionStore } from '../storage/store.js';
import type { Logger } from '../util/logger.js';
import type { ClientSession } from './session.js';

/**
 * Mirrors the session into a `SessionStore`. Writes are serialised; a synchronous store is
 * written before `save()` returns, an asynchronous one through a promise the caller waits on
 * before transmitting. Storage failures are logged, never thrown at the app: the session goes on
 * in memory.
 */
export class Persistence {
  readonly #store: SessionStore | undefined;
  readonly #key: string;
  readonly #session: ClientSession;
  readonly #logger: Logger;
  #chain: Promise<void> | undefined;
  /** Resolves once a persisted session (if any) was restored. */
  readonly ready: Promise<void>;

  constructor(store: SessionStore | undefined, key: string, session: ClientSession, logger: Logger) {
    this.#store = store;
    this.#key = key;
    this.#session = session;
    this.#logger = logger;
    this.ready = store ? this.#load(store) : Promise.resolve();
  }

  get enabled(): boolean {
    return this.#store !== undefined;
  }

  async #load(store: SessionStore): Promise<void> {
    try {
      const snapshot = await store.load(this.#key);
      if (snapshot) this.#session.restore(snapshot);
    } catch (error) {
      this.#logger.warn('surelink: could not load the persisted session', error);
    }
  }

  /** Writes the current session; returns a promise only when the write is still under way. */
  save(): Promise<void> | undefined {
    const store = this.#store;
    if (!store) return undefined;
    const snapshot = this.#session.snapshot();
    const write = (): void | Promise<void> => store.save(this.#key, snapshot);
    if (this.#chain) return this.#track(this.#chain.then(write));
    try {
      const result = write();
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
    const store = this.#store;
    if (!store) return;
    const remove = (): void | Promise<void> => store.remove(this.#key);
    if (this.#chain) return void this.#track(this.#chain.then(remove));
    try {
      const result = remove();
      if (result instanceof Promise) void this.#track(result);
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    this.#logger.warn('surelink: could not persist the session', error);
  }
}
