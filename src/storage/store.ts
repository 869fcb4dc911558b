import type { SessionSnapshot } from '../client/session.js';

/**
 * Where a client keeps its session (resume token, unacknowledged and queued messages) so that a
 * page reload picks up where it left off. Methods may be synchronous or return promises. The client
 * checks what `load` returns: anything but a snapshot or nothing is logged and ignored, and a
 * method that throws or rejects is logged; the session then goes on in memory, as it does while a
 * `save` not settled within `connectTimeoutMs` is still under way, and for good after a `load` that
 * failed or did not settle within it (the stored session is then left as it is, for the next page:
 * a store that works again must not have this page write over what it could not read).
 * @example
 * const store: SessionStore = { load: (k) => cache.get(k), save: (k, s) => void cache.set(k, s), remove: (k) => void cache.delete(k) };
 */
export interface SessionStore {
  load(key: string): SessionSnapshot | undefined | Promise<SessionSnapshot | undefined>;
  save(key: string, snapshot: SessionSnapshot): void | Promise<void>;
  remove(key: string): void | Promise<void>;
  /**
   * True when every tab has a store of its own (sessionStorage). Otherwise (the default), where
   * the browser has Web Locks, one tab at a time owns a stored session and any other keeps its
   * session in memory: two tabs resuming one session would take it from each other forever.
   */
  readonly perTab?: boolean;
}

export type { SessionSnapshot };

const int = Number.isSafeInteger;

/** Checks the shape of something read back from storage; anything else is ignored, not trusted. */
export function isSnapshot(value: unknown): value is SessionSnapshot {
  // Optional chaining: a primitive or null has none of these fields, so every check below fails.
  const s = value as Partial<SessionSnapshot> | null | undefined;
  const o = s?.outbound as Partial<SessionSnapshot['outbound']> | null | undefined;
  return (
    (s?.resume === undefined || typeof s.resume === 'string') &&
    int(s?.delivered) &&
    o?.v === 1 &&
    int(o.nextSeq) &&
    int(o.sentUpTo) &&
    int(o.acked) &&
    Array.isArray(o.entries) &&
    o.entries.every((e: OutboundEntryLike | null) => int(e?.seq) && typeof e?.event === 'string')
  );
}

type OutboundEntryLike = Partial<SessionSnapshot['outbound']['entries'][number]>;
