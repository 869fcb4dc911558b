/**
 * Everything the client has sent and the server has not acknowledged, in one ordered log: the offline queue (not yet
 * transmitted) and the in-flight tail (transmitted, not yet acked). Every entry gets its sequence number when it is
 * appended, so a copy persisted before a page reload is re-sent after it under the same number and the server drops
 * what it already has: exactly once. Only untransmitted entries are ever dropped or renumbered; that keeps the
 * numbering the server sees gap-free.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { QueueFullError } from '../errors/queue-full.js';
import { MAX_FRAME_CHARS } from '../protocol/codec.js';
import type { QueuedMessage } from './event-types.js';
import { overBytes, sizeOf } from './frame-size.js';

/** One outgoing message; `requestId` marks a request. */
export interface OutboundEntry extends QueuedMessage {
  readonly seq: number;
  readonly requestId?: number;
  /** Wall-clock ms after which an untransmitted entry is dropped (`queue:expired`). */
  readonly expiresAt?: number;
}

/** What is persisted across page reloads. */
export interface OutboundSnapshot {
  readonly v: 1;
  /** Next sequence number to hand out. */
  readonly nextSeq: number;
  /** Highest sequence number ever transmitted: entries at or below it may have reached the server. */
  readonly sentUpTo: number;
  readonly acked: number;
  readonly entries: readonly OutboundEntry[];
}

export interface OutboundLimits {
  readonly maxMessages: number;
  /** Bound on the queued (untransmitted) entries, in characters of their JSON. */
  readonly maxBytes: number;
  readonly overflow: 'drop-oldest' | 'drop-newest' | 'error';
}

type Item = Omit<OutboundEntry, 'seq'>;

/** What `append` returns when nothing was dropped: one shared empty list. */
const NONE: readonly OutboundEntry[] = [];
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The JSON text of an entry's data, kept from the size check to the wire so a message is stringified once. A symbol
 * key: JSON and structured clone skip it, so it is never persisted.
 */
const DATA_JSON: unique symbol = Symbol();
type WithJson = { [DATA_JSON]?: string };

export class OutboundLog {
  readonly #limits: OutboundLimits;
  #entries: OutboundEntry[] = [];
  #nextSeq = 1;
  /** Entries with seq <= cursor were taken for transmission on the current link. */
  #cursor = 0;
  /** Highest number on the wire (`sent`): a batch waiting for its write is not, so not lost. */
  #sentUpTo = 0;
  #acked = 0;
  #queuedBytes = 0;
  /** The largest frame the server takes, in UTF-8 bytes: 1 MiB until a welcome says (`limit`). */
  max = MAX_FRAME_CHARS;

  constructor(limits: OutboundLimits) {
    this.#limits = limits;
  }

  /** Untransmitted entries: the offline queue. */
  get queued(): number {
    return this.#entries.length - this.#upTo(this.#cursor);
  }

  /**
   * Appends `item` (it becomes the entry: numbered in place, so give each its own object), applying the bounds to the
   * queued part unless it is transmitted at once (`now`: the link is open, so nothing stays queued). Returns the
   * entries the overflow policy dropped (possibly the new one); throws `QueueFullError` under the `'error'` policy.
   */
  append(item: Item, now?: boolean): readonly OutboundEntry[] {
    const json = dataJsonOf(item);
    const size = sizeOf(item.event, json, this.max);
    const { maxMessages, maxBytes, overflow } = this.#limits;
    let dropped: OutboundEntry[] | undefined;
    while (!now && (this.queued >= maxMessages || this.#queuedBytes + size > maxBytes)) {
      // These two can only stop the first pass: nothing they test changes as the oldest go.
      if (overflow === 'error') throw new QueueFullError(`offline queue full (${maxMessages} / ${maxBytes} chars)`);
      if (overflow === 'drop-newest' || size > maxBytes || maxMessages === 0) return [{ ...item, seq: 0 }];
      (dropped ??= []).push(...this.#removeQueued((e) => e === this.#entries[this.#upTo(this.#cursor)]));
    }
    this.#push(item, size, json);
    return dropped ?? NONE;
  }

  /**
   * A message sent on an open link with nothing queued before it (the common case): appended and marked transmitted in
   * one step, without the queue's bookkeeping. The queue's bounds do not apply: it is not queued. Returns the entry to
   * transmit, or `undefined` when entries are queued (the caller then goes through `append`). Throws like `append` for
   * data JSON cannot encode or over the frame limit.
   */
  appendTransmitted(item: Item): OutboundEntry | undefined {
    const json = dataJsonOf(item);
    if (this.#cursor < this.#nextSeq - 1) return undefined;
    sizeOf(item.event, json, this.max);
    this.#cursor = this.#sentUpTo = this.#nextSeq;
    return this.#push(item, 0, json);
  }

  /** Takes the queued entries for transmission, in order. */
  takeQueued(): OutboundEntry[] {
    const batch = this.#entries.slice(this.#upTo(this.#cursor));
    if (batch.length === 0) return batch;
    this.#cursor = (batch.at(-1) as OutboundEntry).seq;
    this.#queuedBytes = 0;
    return batch;
  }

  /** Entries taken up to `seq` went on the wire. */
  sent(seq: number): void {
    this.#sentUpTo = Math.max(this.#sentUpTo, seq);
  }

  /**
   * A batch taken from `seq` on was never transmitted (the link went while its write was under way): queued again, as
   * if never taken, so the offline queue and the next write count it.
   */
  untake(seq: number): void {
    if (seq > this.#cursor) return;
    this.#cursor = seq - 1;
    this.#rebuild(this.#entries, this.#nextSeq, []);
  }

  /** Cumulative ack from the server; false when it names a frame never transmitted. */
  ack(ack: number): boolean {
    if (ack > this.#sentUpTo) return false;
    if (ack <= this.#acked) return true;
    this.#acked = ack;
    this.#entries.splice(0, this.#upTo(ack)); // in place: a flood keeps thousands in flight, acked 64 at a time
    return true;
  }

  /** The session resumed and the server has everything up to `ack`: re-send the rest. */
  resume(ack: number): boolean {
    if (!this.ack(ack)) return false;
    this.#cursor = this.#acked;
    this.#rebuild(this.#entries, this.#nextSeq, []);
    return true;
  }

  /**
   * The server started a new session: entries that may have reached the old one are taken out (their fate is unknown:
   * the app is told), and the never-transmitted rest is renumbered from 1.
   */
  newSession(): OutboundEntry[] {
    const sent = this.#upTo(this.#sentUpTo);
    const unconfirmed = this.#entries.slice(0, sent);
    this.#cursor = this.#sentUpTo = this.#acked = 0;
    this.#rebuild([], 1, this.#entries.slice(sent));
    return unconfirmed;
  }

  /**
   * The server's welcome says the largest frame it takes (`maxBytes`): larger data is refused at `append` from now on
   * (frames stay within 1 MiB of code units whatever it says), and queued entries over it are taken out and returned,
   * the rest renumbered (sent, one would end the session: 4413). Called once the welcome was applied, when every entry
   * is queued: the server has delivered none of them (`resume`, `newSession`).
   */
  limit(maxBytes: number): OutboundEntry[] {
    this.max = maxBytes;
    return this.#removeQueued((e) => overBytes(e.event, dataJsonOf(e), maxBytes));
  }

  /** Drops queued entries whose TTL ran out; returns them. */
  expire(now: number): OutboundEntry[] {
    return this.#removeQueued((e) => e.expiresAt !== undefined && e.expiresAt <= now);
  }

  /**
   * Withdraws a request not sent yet (timed out, aborted, rejected at a stop) when it is queued. `untake`: entries
   * taken but not on the wire (waiting for their write, or left by a write that failed) are queued again first, so it
   * goes with them; true when there were any (transmissions still waiting for a write are void then: take them anew).
   */
  removeRequest(requestId: number, untake?: boolean): boolean | undefined {
    const taken = untake && this.#cursor > this.#sentUpTo;
    if (taken) this.untake(this.#sentUpTo + 1); // counted as queued again, found or not
    this.#removeQueued((e) => e.requestId === requestId);
    return taken;
  }

  /** Earliest TTL deadline among queued entries; `Infinity` when none has one. */
  nextExpiry(): number {
    let min = Infinity;
    for (const e of this.#entries.slice(this.#upTo(this.#cursor))) min = Math.min(min, e.expiresAt ?? min);
    return min;
  }

  /** Every entry, for `close()` to report. */
  all(): readonly OutboundEntry[] {
    return this.#entries;
  }

  /**
   * The log as it is now, for good: an asynchronous store may read it a tick later, after sends that grew the live
   * array. A view of it had stored entries numbered past `nextSeq`, and the next page gave new messages numbers the
   * server held, which it then dropped as duplicates.
   */
  snapshot(): OutboundSnapshot {
    return {
      v: 1,
      nextSeq: this.#nextSeq,
      // Written before a batch goes out: a page dying once it did must take the server's ack of it.
      sentUpTo: Math.max(this.#sentUpTo, this.#cursor),
      acked: this.#acked,
      entries: this.#entries.map((e) => ({ ...e })),
    };
  }

  /**
   * Puts a persisted log in front of what was appended since this instance started (nothing of which was transmitted
   * yet, so renumbering it is safe).
   */
  restore(s: OutboundSnapshot): void {
    this.#acked = s.acked;
    // What the last page transmitted stays out of the queue until the welcome says what the server
    // has (`resume`) or that the session is gone (`newSession`): expiring, dropping or renumbering it
    // before then could give a number the server holds to another message.
    this.#cursor = this.#sentUpTo = s.sentUpTo;
    this.#rebuild([...s.entries], s.nextSeq, this.#entries);
  }

  /**
   * How many entries have a number up to `seq` (with the cursor: how many were transmitted): a binary search, as bursts
   * append thousands of entries.
   */
  #upTo(seq: number): number {
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#entries[mid] as OutboundEntry).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Makes `kept` the log, its queued part counted, then appends `requeue`, renumbered from `nextSeq` (so the numbering
   * stays gap-free).
   */
  #rebuild(kept: OutboundEntry[], nextSeq: number, requeue: readonly OutboundEntry[]): void {
    this.#entries = kept;
    this.#nextSeq = nextSeq;
    this.#queuedBytes = 0;
    for (const e of kept) if (e.seq > this.#cursor) this.#queuedBytes += sizeOf(e.event, dataJsonOf(e));
    for (const e of requeue) this.#push(e, sizeOf(e.event, dataJsonOf(e)));
  }

  #push(item: Item, size: number, json?: string): OutboundEntry {
    // The item becomes the entry (numbered in place): a send allocates one object, not a copy.
    const entry = item as Writable<OutboundEntry> & WithJson;
    entry.seq = this.#nextSeq++;
    if (json !== undefined) entry[DATA_JSON] = json;
    this.#entries.push(entry);
    this.#queuedBytes += size;
    return entry;
  }

  /** Removes matching queued entries and renumbers the queued tail so no gap appears. */
  #removeQueued(match: (e: OutboundEntry) => boolean): OutboundEntry[] {
    const head = this.#upTo(this.#cursor);
    // Every send checks for expired entries: find nothing without allocating.
    let i = head;
    while (i < this.#entries.length && !match(this.#entries[i] as OutboundEntry)) i++;
    if (i === this.#entries.length) return [];
    const removed: OutboundEntry[] = [];
    const rest: OutboundEntry[] = [];
    for (const e of this.#entries.slice(head)) (match(e) ? removed : rest).push(e);
    this.#rebuild(this.#entries.slice(0, head), this.#cursor + 1, rest);
    // Queued entries an earlier link transmitted (re-sends after a resume, which the server did not deliver) no longer
    // have the numbers they went under: as if never transmitted, so the server cannot acknowledge them and a lost
    // session does not report them.
    this.#sentUpTo = Math.min(this.#sentUpTo, this.#cursor);
    return removed;
  }
}

/**
 * `JSON.stringify(item.data)`: kept from the size check of an entry (so what was checked is what goes out), made now
 * for one restored after a reload; `undefined` without data. Throws when JSON cannot encode it.
 */
export function dataJsonOf(item: Item): string | undefined {
  if (item.data === undefined) return undefined;
  const known = (item as Item & WithJson)[DATA_JSON];
  if (known !== undefined) return known;
  try {
    return JSON.stringify(item.data);
  } catch (cause) {
    throw new InvalidArgumentError(`'${item.event}' data is not JSON`, { cause });
  }
}
