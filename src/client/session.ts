/**
 * The client's side of a protocol session: the outbound log, inbound sequencing and acks, the
 * resume token, and the dispatch of inbound frames. It outlives connections; the client tells it
 * when a link comes and goes.
 */
import { ProtocolError } from '../errors/protocol.js';
import { decodeFrame, encodeFrame, encodeWithDataJson } from '../protocol/codec.js';
import {
  PROTOCOL_VERSION,
  isReservedEvent,
  type HelloFrame,
  type ResponseFrame,
  type WelcomeFrame,
} from '../protocol/frames.js';
import { AckScheduler, Inbox } from '../protocol/sequence.js';
import type { Clock } from '../util/clock.js';
import { OutboundLog, dataJsonOf, type OutboundEntry, type OutboundLimits, type OutboundSnapshot } from './outbound.js';

export interface SessionHooks {
  readonly clock: Clock;
  /** Writes one frame to the current link. */
  write(text: string): void;
  /** An application event arrived (exactly once, in order). */
  deliver(event: string, data: unknown): void;
  /** A pong for a ping sent at `ts`. */
  pong(ts: number): void;
  /** The server sent a close frame. */
  closeFrame(code: number, reason: string): void;
  /** An ack went out: the delivered count changed durably (persistence hook). */
  acked(): void;
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
  readonly log: OutboundLog;
  #inbox = new Inbox();
  /**
   * Only while an ack is owed: without one the peer knows everything delivered, and an idle
   * session holds no scheduler (nor its timer).
   */
  #acks: AckScheduler | undefined;
  #resumeToken: string | undefined;

  constructor(limits: OutboundLimits, hooks: SessionHooks) {
    this.#hooks = hooks;
    this.log = new OutboundLog(limits);
  }

  hello(auth: string | undefined): HelloFrame {
    const base = { type: 'hello', v: PROTOCOL_VERSION, ack: this.#inbox.delivered } as const;
    return {
      ...base,
      ...(auth === undefined ? {} : { auth }),
      ...(this.#resumeToken === undefined ? {} : { resume: this.#resumeToken }),
    };
  }

  /** Applies the server's welcome; the caller then transmits the log's queued entries. */
  welcome(w: WelcomeFrame): WelcomeResult | ProtocolError {
    const resumed = w.resumed && this.#resumeToken !== undefined;
    let unconfirmed: OutboundEntry[] = [];
    if (resumed) {
      if (!this.log.resume(w.ack)) return new ProtocolError(`welcome acks ${w.ack}, never sent`);
    } else {
      unconfirmed = this.log.newSession();
      this.#dropAcks();
      this.#inbox = new Inbox();
    }
    this.#resumeToken = w.resume;
    return { resumed, unconfirmed };
  }

  /** Transmits every queued entry, in order. */
  transmit(entries: readonly OutboundEntry[]): void {
    for (const e of entries) {
      const frame =
        e.requestId === undefined
          ? ({ type: 'event', seq: e.seq, event: e.event, data: e.data } as const)
          : ({ type: 'request', seq: e.seq, id: e.requestId, event: e.event, data: e.data } as const);
      const json = dataJsonOf(e);
      this.#hooks.write(json === undefined ? encodeFrame(frame) : encodeWithDataJson(frame, json));
    }
  }

  /** The link is gone: stop the ack timer (the next hello carries the ack). */
  detached(): void {
    this.#dropAcks();
  }

  /** Forgets the session (client closed). */
  end(): void {
    this.detached();
    this.#resumeToken = undefined;
  }

  ping(ts: number): void {
    this.#hooks.write(encodeFrame({ type: 'ping', ts }));
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

  /** Handles one inbound text frame; returns a `ProtocolError` when the frame is not acceptable. */
  receive(text: string): ProtocolError | undefined {
    const frame = decodeFrame(text);
    if (frame instanceof ProtocolError) return frame;
    switch (frame.type) {
      case 'event':
        if (isReservedEvent(frame.event)) return new ProtocolError(`server used reserved event name '${frame.event}'`);
        return this.#inSequence(frame.seq, () => this.#hooks.deliver(frame.event, frame.data));
      case 'response':
        return this.#inSequence(frame.seq, () => this.#hooks.respond(frame));
      case 'ack':
        return this.log.ack(frame.ack) ? undefined : new ProtocolError(`ack ${frame.ack} for a frame never sent`);
      case 'ping':
        this.#hooks.write(encodeFrame({ type: 'pong', ts: frame.ts }));
        return undefined;
      case 'pong':
        this.#hooks.pong(frame.ts);
        return undefined;
      case 'close':
        this.#hooks.closeFrame(frame.code, frame.reason);
        return undefined;
      default:
        return new ProtocolError(`unexpected ${frame.type} frame from server`);
    }
  }

  #inSequence(seq: number, deliver: () => void): ProtocolError | undefined {
    const acks = (this.#acks ??= this.#newAcks());
    const verdict = this.#inbox.accept(seq);
    if (verdict === 'gap') return new ProtocolError(`sequence gap: got ${seq} after ${this.#inbox.delivered}`);
    if (verdict === 'deliver') {
      deliver();
      acks.delivered();
    } else acks.duplicate(); // the server thinks we lack it: tell it we do not
    return undefined;
  }

  /** A scheduler that starts from "the peer has everything delivered so far". */
  #newAcks(): AckScheduler {
    const acks = new AckScheduler({
      clock: this.#hooks.clock,
      inbox: this.#inbox,
      send: (ack) => {
        if (this.#acks === acks) this.#acks = undefined; // nothing owed now
        this.#hooks.write(encodeFrame({ type: 'ack', ack }));
        this.#hooks.acked();
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
