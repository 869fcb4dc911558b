/**
 * The client's side of a protocol session: sequence numbers, acks, resume token, and the dispatch
 * of inbound frames. It outlives connections; the client tells it when a link comes and goes.
 */
import { ProtocolError } from '../errors/protocol.js';
import { decodeFrame, encodeFrame } from '../protocol/codec.js';
import { PROTOCOL_VERSION, isReservedEvent, type Frame, type HelloFrame, type WelcomeFrame } from '../protocol/frames.js';
import { AckScheduler, Inbox, Outbox } from '../protocol/sequence.js';
import type { Clock } from '../util/clock.js';
import type { QueueItem } from './queue.js';
import type { PendingRequests } from './requests.js';

export interface SessionHooks {
  /** Writes one frame to the current link. */
  write(text: string): void;
  /** An application event arrived (exactly once, in order). */
  deliver(event: string, data: unknown): void;
  /** A pong for a ping sent at `ts`. */
  pong(ts: number): void;
  /** The server sent a close frame. */
  closeFrame(code: number, reason: string): void;
}

/** What a welcome meant for the messages in flight. */
export interface WelcomeResult {
  readonly resumed: boolean;
  /** Sent but never acknowledged in a session that is gone: their fate is unknown. */
  readonly unconfirmed: readonly QueueItem[];
}

export class ClientSession {
  readonly #hooks: SessionHooks;
  readonly #requests: PendingRequests;
  readonly #clock: Clock;
  #outbox = new Outbox();
  #inbox = new Inbox();
  #acks: AckScheduler;
  #resumeToken: string | undefined;
  #sessionId: string | undefined;

  constructor(clock: Clock, requests: PendingRequests, hooks: SessionHooks) {
    this.#clock = clock;
    this.#requests = requests;
    this.#hooks = hooks;
    this.#acks = this.#newAcks();
  }

  get id(): string | undefined {
    return this.#sessionId;
  }

  /** Frames sent and not yet acknowledged by the server. */
  get unacked(): number {
    return this.#outbox.size;
  }

  hello(auth: string | undefined): HelloFrame {
    const base = { type: 'hello', v: PROTOCOL_VERSION, ack: this.#inbox.delivered } as const;
    return { ...base, ...(auth === undefined ? {} : { auth }), ...(this.#resumeToken === undefined ? {} : { resume: this.#resumeToken }) };
  }

  /** Messages sent in this session that the server has not acknowledged. */
  unconfirmed(): QueueItem[] {
    return this.#outbox.pending().map(toItem);
  }

  /** Applies the server's welcome and re-sends what the server has not acknowledged. */
  welcome(w: WelcomeFrame): WelcomeResult | ProtocolError {
    const resumed = w.resumed && this.#resumeToken !== undefined;
    let unconfirmed: QueueItem[] = [];
    if (resumed) {
      if (!this.#outbox.ack(w.ack)) return new ProtocolError(`welcome acks ${w.ack}, never sent`);
    } else {
      unconfirmed = this.unconfirmed();
      this.#outbox = new Outbox();
      this.#inbox = new Inbox();
      this.#acks.reset(0);
      this.#acks = this.#newAcks();
    }
    this.#resumeToken = w.resume;
    this.#sessionId = w.sid;
    for (const text of this.#outbox.pending()) this.#hooks.write(text);
    return { resumed, unconfirmed };
  }

  /** The link is gone: stop the ack timer (the next hello carries the ack). */
  detached(): void {
    this.#acks.reset(this.#inbox.delivered);
  }

  /** Forgets the session entirely (client closed). */
  end(): void {
    this.#acks.reset(this.#inbox.delivered);
    this.#resumeToken = undefined;
  }

  sendEvent(event: string, data: unknown): void {
    this.#sequenced({ type: 'event', seq: this.#outbox.nextSeq, event, data });
  }

  sendRequest(id: number, event: string, data: unknown): void {
    this.#sequenced({ type: 'request', seq: this.#outbox.nextSeq, id, event, data });
  }

  ping(ts: number): void {
    this.#hooks.write(encodeFrame({ type: 'ping', ts }));
  }

  #sequenced(frame: Frame): void {
    const text = encodeFrame(frame);
    this.#outbox.record(text);
    this.#hooks.write(text);
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
        return this.#inSequence(frame.seq, () => this.#requests.respond(frame));
      case 'ack':
        return this.#outbox.ack(frame.ack) ? undefined : new ProtocolError(`ack ${frame.ack} for a frame never sent`);
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
    const verdict = this.#inbox.accept(seq);
    if (verdict === 'gap') return new ProtocolError(`sequence gap: got ${seq} after ${this.#inbox.delivered}`);
    if (verdict === 'deliver') deliver();
    this.#acks.delivered(); // duplicates are acked too, so the server can prune its buffer
    return undefined;
  }

  #newAcks(): AckScheduler {
    return new AckScheduler({
      clock: this.#clock,
      inbox: this.#inbox,
      send: (ack) => this.#hooks.write(encodeFrame({ type: 'ack', ack })),
    });
  }
}

/** Reads back what an unacknowledged frame carried, to report it to the app. */
function toItem(text: string): QueueItem {
  const frame = decodeFrame(text);
  if (frame instanceof ProtocolError || (frame.type !== 'event' && frame.type !== 'request')) {
    return { event: '', data: undefined, queuedAt: 0 };
  }
  return { event: frame.event, data: frame.data, queuedAt: 0, ...(frame.type === 'request' ? { requestId: frame.id } : {}) };
}
