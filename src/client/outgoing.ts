/**
 * The client's outgoing side: records what the app sends in the outbound log, applies the queue's
 * bounds and expiry, persists before transmitting, and reports what a lost session may have lost.
 */
import { NotConnectedError } from '../errors/not-connected.js';
import { SessionLostError } from '../errors/session-lost.js';
import { TimeoutError } from '../errors/timeout.js';
import { Timer } from '../util/clock.js';
import type { QueuedMessage } from './event-types.js';
import type { OutboundEntry, OutboundLog } from './outbound.js';
import type { ResolvedOptions } from './options.js';
import { Persistence } from './persistence.js';
import type { PendingRequests } from './requests.js';
import type { ClientSession } from './session.js';

/** What `send` did with a message. */
export type SendResult = 'sent' | 'queued' | 'dropped';

export interface OutgoingDeps {
  readonly options: ResolvedOptions;
  readonly session: ClientSession;
  readonly persistence: Persistence;
  readonly requests: PendingRequests;
  readonly link: { readonly writable: boolean; readonly state: string; send(text: string): void };
  emit(event: string, payload: unknown): void;
}

type NewEntry = Parameters<OutboundLog['append']>[0] & { expiresAt?: number; requestId?: number };

export class Outgoing {
  readonly #d: OutgoingDeps;
  readonly #expiry: Timer;
  /** Bumped per established link: a transmit waiting on an async save skips a link that is gone. */
  #epoch = 0;

  constructor(deps: OutgoingDeps) {
    this.#d = deps;
    this.#expiry = new Timer(deps.options.clock);
  }

  /** Records a message (it gets its sequence number now) and transmits it when connected. */
  append(item: { event: string; data: unknown; requestId?: number }): SendResult {
    const { options: o, session, link } = this.#d;
    if (o.protocol === 'raw' && link.writable) return (link.send(item.event), 'sent');
    const now = o.clock.now();
    // Field by field: spreads here were the largest cost of a send.
    const entry: NewEntry = { event: item.event, data: item.data, queuedAt: now };
    if (item.requestId !== undefined) entry.requestId = item.requestId;
    if (o.queue.ttlMs !== undefined) entry.expiresAt = now + o.queue.ttlMs;
    // Online, nothing queued, nothing to persist: straight to the wire.
    const sent = this.#d.persistence === Persistence.none && link.writable && session.log.appendTransmitted(entry);
    if (sent) return (session.transmit([sent]), 'sent');
    const dropped = session.log.append(entry);
    if (dropped.length > 0) {
      this.#dropped(dropped);
      if (dropped.some((d) => d.seq === 0)) return 'dropped';
    }
    if (link.writable) return (this.pump(), 'sent');
    void this.#d.persistence.save();
    this.#armExpiry();
    return 'queued';
  }

  /** A new link is established: transmissions still waiting for an older save are void. */
  linked(): void {
    this.#epoch++;
  }

  /** Transmits everything queued; with persistence, only after it is stored (so a reload never sends twice). */
  pump(): void {
    const { options: o, session, link } = this.#d;
    if (o.queue.ttlMs !== undefined) this.#expire();
    const batch = session.log.takeQueued();
    if (batch.length === 0) return;
    if (o.protocol === 'raw') {
      for (const e of batch) link.send(e.event);
      session.log.ack((batch.at(-1) as OutboundEntry).seq); // raw servers send no acks
      return;
    }
    const saving = this.#d.persistence.save();
    if (!saving) return session.transmit(batch);
    const epoch = this.#epoch;
    void saving.then(() => epoch === this.#epoch && link.state === 'open' && session.transmit(batch));
  }

  /**
   * A new session: what the old one had sent without an acknowledgement may be lost, and no
   * response to any request sent in it will come. Requests still queued go to the new session.
   */
  sessionLost(unconfirmed: readonly OutboundEntry[]): void {
    const { session, requests } = this.#d;
    const error = new SessionLostError(
      `session expired; ${unconfirmed.length} message(s) may be lost`,
      unconfirmed.map(toMessage),
    );
    const queued = new Set(session.log.all().map((e) => e.requestId));
    for (const id of requests.ids()) if (!queued.has(id)) requests.reject(id, error);
    if (unconfirmed.length > 0) this.#d.emit('error', error);
  }

  stop(): void {
    this.#expiry.stop();
  }

  #dropped(entries: readonly OutboundEntry[]): void {
    this.#d.emit('queue:overflow', { dropped: entries.map(toMessage) });
    for (const e of entries) {
      if (e.requestId !== undefined) {
        this.#d.requests.reject(e.requestId, new NotConnectedError('offline queue full'));
      }
    }
  }

  #expire(): void {
    this.#expiry.stop();
    const expired = this.#d.session.log.expire(this.#d.options.clock.now());
    if (expired.length === 0) return;
    this.#d.emit('queue:expired', { expired: expired.map(toMessage) });
    for (const e of expired) {
      if (e.requestId !== undefined) {
        this.#d.requests.reject(e.requestId, new TimeoutError('expired in the offline queue'));
      }
    }
  }

  #armExpiry(): void {
    const at = this.#d.session.log.nextExpiry();
    if (at === undefined || this.#expiry.pending) return;
    this.#expiry.start(Math.max(0, at - this.#d.options.clock.now()), () => {
      this.#expire();
      this.#armExpiry();
    });
  }
}

export function toMessage({ event, data, queuedAt }: OutboundEntry): QueuedMessage {
  return { event, data, queuedAt };
}
