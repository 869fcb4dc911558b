/**
 * Per-direction sequencing shared by client and server (PROTOCOL.md, "Sequence numbers and acks").
 * The sender numbers every event/request/response from 1 and keeps its encoded text until the peer
 * acknowledges it cumulatively; the receiver delivers each number once, in order.
 */
import type { Clock } from '../util/clock.js';
import { Timer } from '../util/clock.js';
import { ACK_DELAY_MS, ACK_EVERY_FRAMES } from './limits.js';

/** Sender side: allocates sequence numbers and holds what the peer has not acknowledged. */
export class Outbox {
  #next = 1;
  /** Texts of sent frames; `#texts[i]` has number `#base + i`, and those before `#head` are acknowledged. */
  #texts: string[] = [];
  #base = 1;
  #head = 0;

  /** The number the next sequenced frame gets. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Highest number handed out so far (0 when none). */
  get lastSeq(): number {
    return this.#next - 1;
  }

  /** How many frames wait for an ack. */
  get size(): number {
    return this.#texts.length - this.#head;
  }

  /** Records the frame that was just given `nextSeq`, keeping its text for a resend. */
  record(text: string): number {
    this.#texts.push(text);
    return this.#next++;
  }

  /**
   * Drops everything up to and including `ack`. Returns false when `ack` names a frame never sent
   * (a protocol violation by the peer).
   */
  ack(ack: number): boolean {
    if (ack > this.lastSeq) return false;
    const head = Math.max(this.#head, ack - this.#base + 1);
    // The texts of acknowledged frames go now, not at the next compaction: until then a session
    // whose client keeps up held its last 1024 frames (10 kB each: 10 MB) for nothing.
    this.#texts.fill('', this.#head, head);
    this.#head = head;
    // Compact now and then instead of shifting on every ack.
    if (this.#head > 1024 && this.#head * 2 > this.#texts.length) {
      this.#texts = this.#texts.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return true;
  }

  /** Texts of the unacknowledged frames, oldest first: what a resume re-sends. */
  pending(): string[] {
    return this.#texts.slice(this.#head);
  }
}

export type Verdict = 'deliver' | 'duplicate' | 'gap';

/** Receiver side: delivers each sequence number once and in order. */
export class Inbox {
  #delivered: number;

  constructor(delivered = 0) {
    this.#delivered = delivered;
  }

  /** Highest number delivered: what this side acknowledges. */
  get delivered(): number {
    return this.#delivered;
  }

  /**
   * `deliver` for the next number (and records it), `duplicate` for one already delivered (a
   * resend after a resume), `gap` when numbers were skipped: the peer lost frames, a protocol error.
   */
  accept(seq: number): Verdict {
    if (seq <= this.#delivered) return 'duplicate';
    if (seq !== this.#delivered + 1) return 'gap';
    this.#delivered = seq;
    return 'deliver';
  }
}

/**
 * Batches cumulative acks: one ack frame after 64 deliveries or 50 ms, whichever comes first, so
 * a flood costs one ack per batch instead of one per message. Both sides use the same numbers
 * (constants, not options: one scheduler per session, so two fewer fields each).
 */
export class AckScheduler {
  readonly #timer: Timer;
  readonly #send: (ack: number) => void;
  readonly #inbox: Inbox;
  #acked = 0;
  #force = false;

  constructor(opts: { clock: Clock; inbox: Inbox; send: (ack: number) => void }) {
    this.#timer = new Timer(opts.clock);
    this.#inbox = opts.inbox;
    this.#send = opts.send;
  }

  /**
   * Call after each delivery. An ack sent for the count leaves the timer running: when it fires
   * with nothing owed it sends nothing, and a flood costs one timer per `delayMs`, not per ack.
   */
  delivered(): void {
    const owed = this.#inbox.delivered - this.#acked;
    if (owed >= ACK_EVERY_FRAMES) this.#ack();
    else if (owed > 0 && !this.#timer.pending) this.#timer.start(ACK_DELAY_MS, () => this.flush());
  }

  /**
   * Call for a duplicate: the peer re-sent something it believes unacknowledged, so an ack must go
   * out even when none is owed (soon, batched like any other).
   */
  duplicate(): void {
    this.#force = true;
    if (!this.#timer.pending) this.#timer.start(ACK_DELAY_MS, () => this.flush());
  }

  /** Whether the batching timer is running (an ack may still go out when it fires). */
  get pending(): boolean {
    return this.#timer.pending;
  }

  /** Sends the ack now if one is owed (or a duplicate asked for one), and cancels the timer. */
  flush(): void {
    this.#timer.stop();
    this.#ack();
  }

  #ack(): void {
    if (this.#inbox.delivered === this.#acked && !this.#force) return;
    this.#force = false;
    this.#send((this.#acked = this.#inbox.delivered));
  }

  /** Forgets the pending timer (connection gone); `ackedUpTo` is what the peer now knows. */
  reset(ackedUpTo: number): void {
    this.#timer.stop();
    this.#force = false;
    this.#acked = ackedUpTo;
  }
}
