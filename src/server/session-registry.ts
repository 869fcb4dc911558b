/**
 * Live sessions by id and by resume token, plus the grace timers of sessions that wait for a
 * resume. Ids and tokens are random (node:crypto), base64url, so they are safe in JSON and logs.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { Timer } from '../util/clock.js';

/** 128-bit session ids: unguessable, but they are not secrets. */
const ID_BYTES = 16;
/** 192-bit resume tokens: whoever holds one can take the session over (after authenticating). */
const TOKEN_BYTES = 24;

export function randomId(bytes = ID_BYTES): string {
  return randomBytes(bytes).toString('base64url');
}

export function randomResumeToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** What the registry needs from a session. */
export interface RegisteredSession {
  readonly id: string;
  readonly resumeToken: string;
}

export class SessionRegistry<S extends RegisteredSession> {
  readonly #clock: Clock;
  readonly #byId = new Map<string, S>();
  readonly #byToken = new Map<string, S>();
  readonly #grace = new Map<string, Timer>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The live map, by session id. */
  get byId(): ReadonlyMap<string, S> {
    return this.#byId;
  }

  get size(): number {
    return this.#byId.size;
  }

  add(session: S): void {
    this.#byId.set(session.id, session);
    this.#byToken.set(session.resumeToken, session);
  }

  /** The session a resume token names, if it is still alive. */
  byResumeToken(token: string): S | undefined {
    return this.#byToken.get(token);
  }

  /** Forgets the session and its grace timer. Idempotent. */
  remove(session: S): void {
    this.cancelGrace(session);
    if (this.#byId.get(session.id) === session) this.#byId.delete(session.id);
    if (this.#byToken.get(session.resumeToken) === session) this.#byToken.delete(session.resumeToken);
  }

  /** Starts (or restarts) the wait for a resume; `expire` runs if none comes within `ms`. */
  startGrace(session: S, ms: number, expire: () => void): void {
    let timer = this.#grace.get(session.id);
    if (!timer) this.#grace.set(session.id, (timer = new Timer(this.#clock)));
    timer.start(ms, () => {
      this.#grace.delete(session.id);
      expire();
    });
  }

  cancelGrace(session: S): void {
    this.#grace.get(session.id)?.stop();
    this.#grace.delete(session.id);
  }

  /** Number of grace timers running (diagnostics and tests). */
  get graceTimers(): number {
    return this.#grace.size;
  }

  /** Snapshot, so callers may end sessions while iterating. */
  all(): S[] {
    return [...this.#byId.values()];
  }
}
