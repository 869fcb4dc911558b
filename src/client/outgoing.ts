/**
 * The client's outgoing side: records what the app sends in the outbound log, applies the queue's
 * bounds and expiry, persists before transmitting, and reports what a lost session may have lost.
 */
import { NotConnectedError } from '../errors/not-connected.js';
import { SessionLostError } from '../errors/session-lost.js';
import { TimeoutError } from '../errors/timeout.js';
import { Timer, type Clock } from '../util/clock.js';
import type { QueuedMessage } from './event-types.js';
import { tooLarge } from './frame-size.js';
import type { OutboundEntry } from './outbound.js';
import type { ResolvedOptions } from './options.js';
import { Persistence } from './persistence.js';
import type { PendingRequests } from './requests.js';
import type { ClientSession } from './session.js';

/** What `send` did with a message. */
export type SendResult = 'sent' | 'queued' | 'dropped';

export interface OutgoingDeps {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly session: ClientSession;
  readonly persistence: Persistence;
  /** Absent until the client's first request. */
  readonly requests: PendingRequests | undefined;
  /** The link's: open and alive, state, and write one frame. */
  readonly writable: boolean;
  readonly state: string;
  /** `close()` was called: a queue handler may call it in the middle of an append or an expiry. */
  readonly disposed: boolean;
  /** Whether the link is still up after the write: in raw mode, whether the text was written. */
  send(text: string): boolean | undefined;
  emit(event: string, payload: unknown): void;
}

/** An entry being made; the log numbers it (`seq: 0` here keeps the field in the object itself). */
type NewEntry = { -readonly [K in keyof OutboundEntry]: OutboundEntry[K] };

export class Outgoing {
  readonly #d: OutgoingDeps;
  /** The TTL timer, created when an entry with a TTL is first queued offline. */
  #expiry: Timer | undefined;
  /** Bumped per established link: a transmit waiting on an async save skips a link that is gone. */
  #epoch = 0;

  constructor(deps: OutgoingDeps) {
    this.#d = deps;
    // A restored queue's TTL runs offline too, as this page's does: else reported only at connect.
    // Armed again: restored entries run out before what this page queued while the load was under way.
    void deps.persistence.ready?.then(() => (this.#expiry?.stop(), this.#armExpiry()));
  }

  /** Records a message (it gets its sequence number now) and transmits it when connected. */
  append(event: string, data: unknown, requestId?: number): SendResult {
    const d = this.#d;
    const { options: o, session } = d;
    // Online, the queue's bounds do not apply: what it holds goes out now, this message with it.
    let online = d.writable;
    // Raw mode: a text the transport did not take (its `send` threw; the link is gone) is queued,
    // and one sent while texts are queued (from a `queue:expired` handler of the flush) goes after them.
    if (o.protocol === 'raw' && online && !session.log.queued) {
      if (d.send(event)) return 'sent';
      online = false;
    }
    const now = d.clock.now();
    const ttl = o.queue.ttlMs;
    // Field by field: spreads here were the largest cost of a send.
    const entry: NewEntry = { event, data, queuedAt: now, seq: 0 };
    if (requestId !== undefined) entry.requestId = requestId;
    if (ttl !== undefined) entry.expiresAt = now + ttl;
    // Online, nothing queued, nothing to persist: straight to the wire.
    const sent = d.persistence === Persistence.none && online && session.log.appendTransmitted(entry);
    if (sent) return (session.transmitOne(sent), 'sent');
    const dropped = session.log.append(entry, online);
    this.discard(dropped, 'overflow');
    // The log numbers what it keeps: still 0, the new message itself was dropped.
    if (entry.seq === 0) return 'dropped';
    if (online) return (this.pump(), 'sent');
    void d.persistence.save();
    this.#armExpiry();
    return 'queued';
  }

  /** A new link is established: transmissions still waiting for an older save are void. */
  linked(): void {
    this.#epoch++;
  }

  /**
   * A request timed out or aborted: withdrawn unless it is on the wire. Online, one waiting for its
   * write goes too (the write's transmission is void: the rest is taken and written anew).
   */
  withdraw(id: number): void {
    const d = this.#d;
    if (d.session.log.removeRequest(id, d.writable)) {
      this.#epoch++;
      this.pump();
    }
    void d.persistence.save();
  }

  /** Transmits everything queued; with persistence, only after it is stored (so a reload never sends twice). */
  pump(): void {
    const d = this.#d;
    const { options: o, session } = d;
    if (o.queue.ttlMs !== undefined) this.#expire();
    const batch = session.log.takeQueued();
    if (batch.length === 0) return;
    if (o.protocol === 'raw') {
      // Raw servers send no acks: written counts as delivered, and is stored as such in the same
      // tick, else a reload would send the stored queue again; a write that fails removes the stored
      // queue for the same reason (`sending`). What the transport did not take (its `send` threw: the
      // link is gone) is queued again, for the next link.
      let written = 0;
      for (const e of batch) {
        if (!d.send(e.event)) break;
        written = e.seq;
      }
      session.log.sent(written);
      session.log.resume(written);
      void d.persistence.save(true);
      return;
    }
    const saving = d.persistence.save(true);
    if (!saving) return session.transmit(batch);
    const epoch = this.#epoch;
    // Written, but the link went meanwhile: not transmitted, so queued again (a new link takes it).
    void saving.then(() =>
      epoch !== this.#epoch ? 0 : d.state === 'open' ? session.transmit(batch) : session.log.untake(batch[0]!.seq),
    );
  }

  /**
   * A new session: what the old one had sent without an acknowledgement may be lost, and no
   * response to any request sent in it will come. Requests still queued go to the new session.
   * Not "expired": the server may also have ended it (a frame it refused, a restart).
   */
  sessionLost(unconfirmed: readonly OutboundEntry[]): void {
    const { session, requests } = this.#d;
    const error = new SessionLostError(
      `session not resumed; ${unconfirmed.length} message(s) may be lost`,
      unconfirmed.map(toMessage),
    );
    const queued = new Set(session.log.all().map((e) => e.requestId));
    for (const id of requests?.ids() ?? []) if (!queued.has(id)) requests?.reject(id, error);
    if (unconfirmed.length > 0) this.#d.emit('error', error);
  }

  stop(): void {
    this.#expiry?.stop();
  }

  /**
   * Entries the queue let go, if any, and why: the app is told (`queue:<why>`), and their requests
   * fail. `oversize`: over the largest frame the server takes, taken out at its welcome (queued
   * before it was known, or for a server that takes less); their requests fail as `request()` would
   * have. The log is stored without them before the app hears of them, so a reload does not
   * report them again (an expiry by the TTL timer is followed by no other write).
   */
  discard(entries: readonly OutboundEntry[], why: 'overflow' | 'expired' | 'oversize'): void {
    const d = this.#d;
    if (entries.length === 0) return;
    if (why !== 'overflow') void d.persistence.save(); // overflow: `append` writes next
    const messages = entries.map(toMessage);
    const max = d.session.log.max;
    d.emit(
      `queue:${why}`,
      why === 'overflow'
        ? { dropped: messages }
        : why === 'expired'
          ? { expired: messages }
          : { oversize: messages, maxFrameBytes: max },
    );
    for (const { event, requestId } of entries)
      if (requestId !== undefined)
        d.requests?.reject(
          requestId,
          why === 'overflow'
            ? new NotConnectedError('offline queue full')
            : why === 'expired'
              ? new TimeoutError('expired in the offline queue')
              : tooLarge(event, max),
        );
  }

  #expire(): void {
    this.#expiry?.stop();
    this.discard(this.#d.session.log.expire(this.#d.clock.now()), 'expired');
  }

  #armExpiry(): void {
    const d = this.#d;
    const at = d.session.log.nextExpiry();
    if (at === Infinity || this.#expiry?.pending || d.disposed) return;
    (this.#expiry ??= new Timer(d.clock)).start(Math.max(0, at - d.clock.now()), () => {
      this.#expire();
      this.#armExpiry();
    });
  }
}

export function toMessage({ event, data, queuedAt }: OutboundEntry): QueuedMessage {
  return { event, data, queuedAt };
}
