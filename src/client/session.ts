/**
 * The client's side of a protocol session: the outbound log, inbound sequencing and acks, the
 * resume token, and the dispatch of inbound frames. It outlives connections; the client tells it
 * when a link comes and goes.
 */
import { ProtocolError } from '../errors/protocol.js';
import { MAX_FRAME_CHARS, SERVER_FRAMES, decodeFrames, encodeControl, encodeWithDataJson } from '../protocol/codec.js';
import {
  PROTOCOL_VERSION,
  isReservedEvent,
  type Frame,
  type HelloFrame,
  type ResponseFrame,
  type WelcomeFrame,
} from '../protocol/frames.js';
import { AckScheduler, Inbox } from '../protocol/sequence.js';
import type { Clock } from '../util/clock.js';
import { OutboundLog, dataJsonOf, type OutboundEntry, type OutboundLimits, type OutboundSnapshot } from './outbound.js';

export interface SessionHooks {
  readonly clock: Clock;
  /** Writes one frame to the current link; falsy when there is none, or it went. */
  send(text: string): boolean | undefined;
  /** An application event arrived (exactly once, in order). */
  emit(event: string, data: unknown): void;
  /** A pong for a ping sent at `ts`. */
  pong(ts: number): void;
  /** The server sent a close frame: end the link with its code and reason. */
  drop(code: number, reason: string): void;
  /** An ack is due: write the session (persistence); with a store, the ack waits for the write (`stored`). */
  save(): void;
  /** A response to a request arrived (exactly once, in order). */
  respond(frame: ResponseFrame): void;
}

/** What a welcome meant for the messages in flight. */
export interface WelcomeResult {
  readonly resumed: boolean;
  /** Sent in a session that is gone and never acknowledged: their fate is unknown. */
  readonly unconfirmed: readonly OutboundEntry[];
}

/** The persisted form of a session (see persistence.ts). */
export interface SessionSnapshot {
  readonly resume: string | undefined;
  readonly delivered: number;
  readonly outbound: OutboundSnapshot;
}

export class ClientSession {
  readonly #hooks: SessionHooks;
  declare readonly log: OutboundLog; // set in the constructor (`declare`: no class field emitted too)
  #inbox = new Inbox();
  /**
   * Only while an ack is owed: without one the peer knows everything delivered, and an idle
   * session holds no scheduler (nor its timer).
   */
  #acks: AckScheduler | undefined;
  #resumeToken: string | undefined;
  /** Bumped when the link goes away: the rest of a batch that arrived on it is not processed. */
  #linkEpoch = 0;
  /**
   * The delivered count the store holds (the last write that landed); `undefined` while no store
   * keeps it (none, another tab's, or given up on): acks then carry the count delivered. An ack
   * never says more than the store holds: a page dying before its write landed leaves the server
   * the frames the next page lacks (it re-sends them), not a gap.
   */
  #stored: number | undefined;
  /** The count an ack was last due for (by the scheduler or a hello), and the last one sent. */
  #asked = 0;
  #sent = 0;

  constructor(limits: OutboundLimits, hooks: SessionHooks) {
    this.#hooks = hooks;
    this.log = new OutboundLog(limits);
  }

  hello(auth: string | undefined): HelloFrame {
    const delivered = (this.#asked = this.#inbox.delivered); // the rest follows once stored (`stored`)
    // `b`: the server may send batches up to the largest message the client accepts.
    return {
      type: 'hello',
      v: PROTOCOL_VERSION,
      ack: (this.#sent = Math.min(delivered, this.#stored ?? delivered)),
      auth,
      resume: this.#resumeToken,
      b: MAX_FRAME_CHARS,
    };
  }

  /** Applies the server's welcome; the caller then transmits the log's queued entries. */
  welcome(w: WelcomeFrame): WelcomeResult | ProtocolError {
    const resumed = w.resumed && this.#resumeToken !== undefined;
    let unconfirmed: OutboundEntry[] = [];
    if (resumed) {
      if (!this.log.resume(w.ack)) return new ProtocolError(`welcome acks unsent ${w.ack}`);
    } else {
      unconfirmed = this.log.newSession();
      this.#dropAcks();
      this.#inbox = new Inbox();
      this.#asked = this.#sent = 0;
      this.#stored &&= 0; // with a store: it holds none of this session yet
    }
    this.#resumeToken = w.resume;
    return { resumed, unconfirmed };
  }

  /**
   * Transmits entries taken from the log, in order, each counted as sent once written: a handler
   * the link's loss runs in the middle (`close`, `error`) finds the rest not sent, free to withdraw.
   */
  transmit(entries: readonly OutboundEntry[]): void {
    for (const e of entries) if (this.transmitOne(e)) this.log.sent(e.seq);
  }

  transmitOne(e: OutboundEntry): boolean | undefined {
    return this.#hooks.send(encodeWithDataJson(e.seq, e.event, dataJsonOf(e), e.requestId));
  }

  /** The link is gone: stop the ack timer (the next hello carries the ack). */
  detached(): void {
    this.#linkEpoch++;
    this.#dropAcks();
  }

  /** Forgets the session (client closed, or it refused a server frame: the next hello starts anew). */
  end(): void {
    this.detached();
    this.#resumeToken = undefined;
  }

  /** A write of `snapshot()` starts: returns what to call once it landed (for this inbox only). */
  writing(): () => void {
    const inbox = this.#inbox;
    const n = inbox.delivered;
    return () => void (inbox === this.#inbox && this.stored(n));
  }

  /**
   * The store holds `n` delivered (`undefined`: no store keeps the count now); an ack held back for
   * it goes out (on the current link; once gone, the next hello carries it).
   */
  stored(n?: number): void {
    const ack = Math.min(this.#asked, (this.#stored = n) ?? this.#asked);
    if (ack > this.#sent) this.#ack(ack);
  }

  #ack(ack: number): void {
    this.#hooks.send(encodeControl({ type: 'ack', ack: (this.#sent = ack) }));
  }

  snapshot(): SessionSnapshot {
    return { resume: this.#resumeToken, delivered: this.#inbox.delivered, outbound: this.log.snapshot() };
  }

  /** Adopts a persisted session (before the first connect of this page). */
  restore(s: SessionSnapshot): void {
    this.#resumeToken = s.resume;
    this.#dropAcks();
    this.#inbox = new Inbox(s.delivered);
    this.log.restore(s.outbound);
  }

  /** Handles one inbound message (a frame or a batch); returns a `ProtocolError` when it is not acceptable. */
  receive(text: string): ProtocolError | undefined {
    const frames = decodeFrames(SERVER_FRAMES, text);
    if (frames instanceof ProtocolError) return frames;
    if (!Array.isArray(frames)) return this.#frame(frames);
    const epoch = this.#linkEpoch;
    for (const frame of frames) {
      // A close frame, or a handler that closed the client, ends the link: what follows is not read.
      if (epoch !== this.#linkEpoch) return undefined;
      const error = this.#frame(frame);
      if (error) return error;
    }
    return undefined;
  }

  #frame(frame: Frame): ProtocolError | undefined {
    switch (frame.type) {
      case 'event':
      case 'response': {
        if (frame.type === 'event' && isReservedEvent(frame.event))
          return new ProtocolError(`reserved event '${frame.event}'`);
        const acks = (this.#acks ??= this.#newAcks());
        const verdict = this.#inbox.accept(frame.seq);
        if (verdict === 'gap') return new ProtocolError(`gap before ${frame.seq}`);
        // A duplicate: the server thinks we lack it, so an ack must tell it we do not.
        if (verdict === 'duplicate') return void acks.duplicate();
        if (frame.type === 'event') this.#hooks.emit(frame.event, frame.data);
        else this.#hooks.respond(frame);
        return void acks.delivered();
      }
      case 'ack':
        return this.log.ack(frame.ack) ? undefined : new ProtocolError(`ack of unsent ${frame.ack}`);
      case 'ping':
        return void this.#hooks.send(encodeControl({ type: 'pong', ts: frame.ts }));
      case 'pong':
        return void this.#hooks.pong(frame.ts);
      case 'close':
        return void this.#hooks.drop(frame.code, frame.reason);
      default:
        return new ProtocolError(`unexpected ${frame.type}`);
    }
  }

  /** A scheduler that starts from "the peer has everything delivered so far". */
  #newAcks(): AckScheduler {
    const acks = new AckScheduler({
      clock: this.#hooks.clock,
      inbox: this.#inbox,
      send: (ack) => {
        // Nothing owed now; a timer still running (an ack sent for the count) keeps the scheduler.
        if (this.#acks === acks && !acks.pending) this.#acks = undefined;
        // Without a store keeping the count: at once, as for a duplicate (the peer may lack the ack).
        if (this.#stored === undefined) this.#ack(ack);
        this.#asked = ack;
        this.#hooks.save(); // a synchronous store's write lands in it, and acks (`stored`)
        this.stored(this.#stored); // else what is stored already, if it raises the count
      },
    });
    acks.reset(this.#inbox.delivered);
    return acks;
  }

  /** Stops the ack timer (link gone, or a new inbox): the next hello carries the ack. */
  #dropAcks(): void {
    this.#acks?.reset(this.#inbox.delivered);
    this.#acks = undefined;
  }
}
