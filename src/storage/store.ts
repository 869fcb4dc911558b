import type { SessionSnapshot } from '../client/session.js';

/**
 * Where a client keeps its session (resume token, unacknowledged and queued messages) so that a
 * page reload picks up where it left off. Methods may be synchronous or return promises.
 * @example
 * const store: SessionStore = { load: (k) => cache.get(k), save: (k, s) => void cache.set(k, s), remove: (k) => void cache.delete(k) };
 */
export interface SessionStore {
  load(key: string): SessionSnapshot | undefined | Promise<SessionSnapshot | undefined>;
  save(key: string, snapshot: SessionSnapshot): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

export type { SessionSnapshot };

/** Checks the shape of something read back from storage; anything else is ignored, not trusted. */
export function isSnapshot(value: unknown): value is SessionSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<SessionSnapshot>;
  const o = s.outbound as Partial<SessionSnapshot['outbound']> | undefined;
  return (
    (s.resume === undefined || typeof s.resume === 'string') &&
    Number.isSafeInteger(s.delivered) &&
    typeof o === 'object' &&
    o !== null &&
    o.v === 1 &&
    Number.isSafeInteger(o.nextSeq) &&
    Number.isSafeInteger(o.sentUpTo) &&
    Number.isSafeInteger(o.acked) &&
    Array.isArray(o.entries) &&
    o.entries.every(
      (e) => typeof e === 'object' && e !== null && Number.isSafeInteger(e.seq) && typeof e.event === 'string',
    )
  );
}
