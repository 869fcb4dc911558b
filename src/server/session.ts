/**
 * One client session. It outlives connections: the sequencing state (Outbox, Inbox, acks) stays
 * here while connections come and go, which is what makes resume exactly-once. A connection is
 * attached by the handshake; inbound frames are handled in `session-inbound.ts`.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { ProtocolError } from '../errors/protocol.js';
import { CloseCode } from '../protocol/close-codes.js';
import { batchChars } from '../protocol/batch.js';
import { CLIENT_FRAMES, decodeFrames, encodeFrame, encodeWithDataJson } from '../protocol/codec.js';
import type { DecodeLimits } from '../protocol/codec.js';
import { PROTOCOL_VERSION } from '../protocol/frames.js';
import type { Frame, HeartbeatSettings, WelcomeFrame } from '../protocol/frames.js';
import { AckScheduler, Inbox, Outbox } from '../protocol/sequence.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { isSendableCloseCode } from './connection.js';
import type { ServerConnection, ServerTransportName } from './connection.js';
import { assertServerEventName } from './event-names.js';
import { ServerHeartbeat } from './heartbeat.js';
import { Listeners } from './listeners.js';
import type { Listener } from './listeners.js';
import { encodeEvent } from './outgoing.js';
import { encodeResponse } from './requests.js';
import type { RequestOutcome } from './requests.js';
import type { RateLimit } from './options.js';
import { RequestGate } from './rate-limit.js';
import { handleFrame } from './session-inbound.js';
import type { InboundContext } from './session-inbound.js';
import type { DisconnectInfo, EndInfo, ServerSession } from './types.js';

/** What a session needs from the server that owns it. */
export interface SessionHost<S> {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly heartbeat: HeartbeatSettings;
  readonly maxBufferedFrames: number;
  readonly maxFrameBytes: number;
  readonly requestRateLimit: RateLimit | false;
  readonly maxPendingRequests: number;
  runRequest(name: string, data: unknown, session: S): Promise<RequestOutcome>;
  /** A user handler threw: log it and emit the server's `error`. */
  reportError(error: unknown, context: string): void;
  /** The connection dropped; start the grace period. */
  disconnected(session: S): void;
  /** The session ended; forget it. */
  ended(session: S): void;
}

export class Session<
  CE extends object = Record<string, unknown>,
  SE extends object = Record<string, unknown>,
  Id = unknown,
> implements ServerSession<CE, SE, Id> {
  readonly id: string;
  readonly identity: Id;
  // Private with a getter: a session that is logged or serialised never shows its token.
  readonly #resumeToken: string;
  readonly #host: SessionHost<Session<CE, SE, Id>>;
  readonly #outbox = new Outbox();
  readonly #inbox = new Inbox();
  readonly #acks: AckScheduler;
  readonly #listeners: Listeners;
  readonly #inbound: InboundContext;
  readonly #limits: DecodeLimits;
  #connection: ServerConnection | null = null;
  #heartbeat: ServerHeartbeat | null = null;
  #lastLoss: DisconnectInfo = { code: CloseCode.Abnormal, reason: '' };
  #ended = false;

  /** The secret a client resumes this session with (internal: not part of `ServerSession`). */
  get resumeToken(): string {
    return this.#resumeToken;
  }

  constructor(id: string, resumeToken: string, identity: Id, host: SessionHost<Session<CE, SE, Id>>) {
    this.id = id;
    this.#resumeToken = resumeToken;
    this.identity = identity;
    this.#host = host;
    this.#limits = { maxFrameChars: host.maxFrameBytes };
    this.#acks = new AckScheduler({
      clock: host.clock,
      inbox: this.#inbox,
      send: (ack) => this.#sendRaw(encodeFrame({ type: 'ack', ack })),
    });
    this.#listeners = new Listeners((error, event) => host.reportError(error, `session ${id}: "${event}" handler`));
    const requests = new RequestGate(host.clock, host.maxPendingRequests, host.requestRateLimit);
    this.#inbound = {
      inbox: this.#inbox,
      outbox: this.#outbox,
      acks: this.#acks,
      isEnded: () => this.#ended,
      fail: (message) => this.fail(new ProtocolError(message)),
      emit: (event, data) => this.#listeners.emit(event, data),
      sendRaw: (text) => this.#sendRaw(text),
      peerClosed: (code, reason) => this.#peerClosed(code, reason),
      runRequest: (name, data) => requests.run(host.runRequest(name, data, this)),
      refuseRequest: (name) => requests.refuse(name),
      respond: (requestId, outcome) => this.#respond(requestId, outcome),
      reportError: (error, context) => host.reportError(error, `session ${id}: ${context}`),
    };
  }

  get transport(): ServerTransportName | null {
    return this.#connection?.transport ?? null;
  }

  get connected(): boolean {
    return this.#connection !== null;
  }

  /** Highest server sequence number sent so far; a resume may not acknowledge more. */
  get lastSeq(): number {
    return this.#outbox.lastSeq;
  }

  on(event: string, handler: Listener): () => void {
    if (typeof event !== 'string') throw new InvalidArgumentError('session.on: event name must be a string');
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`session.on("${event}"): handler is not a function`);
    return this.#listeners.on(event, handler);
  }

  send(event: string, data?: unknown): void {
    assertServerEventName(event);
    if (this.#ended) {
      this.#host.logger.debug(`surelink: session ${this.id} ended; "${event}" not sent`);
      return;
    }
    // Throws for data JSON cannot encode, and for a frame a client would refuse (ending the session).
    this.#push(encodeEvent(this.#outbox.nextSeq, event, data));
  }

  /** `send` of data already JSON (`undefined`: none), name checked: `broadcast` encodes it once. */
  sendJson(event: string, dataJson: string | undefined): void {
    if (!this.#ended) this.#push(encodeWithDataJson(this.#outbox.nextSeq, event, dataJson));
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    if (!isSendableCloseCode(code))
      throw new InvalidArgumentError(`session.close: ${String(code)} is not a close code a server may send`);
    this.#end(code, String(reason));
  }

  /**
   * Takes `connection` over (terminating any previous one), drops what the client acknowledged
   * (`peerAck`, checked by the caller against `lastSeq`), sends `welcome` and re-sends the rest:
   * in batches when the client accepts them (`peerBatch`, its `hello.b`) and the endpoint can.
   */
  attach(connection: ServerConnection, peerAck: number, resumed: boolean, peerBatch?: number): void {
    const previous = this.#connection;
    if (previous) {
      this.#detach();
      previous.terminate();
    }
    this.#outbox.ack(peerAck);
    this.#connection = connection;
    this.#acks.reset(this.#inbox.delivered);
    const welcome: WelcomeFrame = {
      type: 'welcome',
      v: PROTOCOL_VERSION,
      sid: this.id,
      resume: this.resumeToken,
      resumed,
      ack: this.#inbox.delivered,
      hb: this.#host.heartbeat,
      b: connection.maxMessageBytes,
      f: connection.maxFrameBytes,
    };
    // Welcome goes alone (the client reads it before it knows about batches); batching starts after it.
    connection.send(encodeFrame(welcome));
    if (peerBatch !== undefined) connection.startBatching?.(batchChars(peerBatch));
    for (const text of this.#outbox.pending()) connection.send(text);
    this.#startHeartbeat(connection);
    // Listeners run last: one that closes the session finds it in a consistent state.
    if (previous)
      this.#listeners.emit('disconnect', { code: CloseCode.Abnormal, reason: 'replaced by a new connection' });
    if (resumed && !this.#ended) this.#listeners.emit('resume', { transport: connection.transport });
  }

  /** One inbound message, a frame or a batch, from `connection` (ignored unless it is the current one). */
  receive(connection: ServerConnection, text: string): void {
    if (connection !== this.#connection || this.#ended) return;
    this.#heartbeat?.touch();
    const frames = decodeFrames(CLIENT_FRAMES, text, this.#limits);
    if (frames instanceof ProtocolError) return this.fail(frames);
    if (!Array.isArray(frames)) return handleFrame(this.#inbound, frames);
    for (let i = 0; i < frames.length; i++) {
      // A close frame, or a listener that closed the session, ends the connection: the rest is not read.
      if (connection !== this.#connection || this.#ended) return;
      handleFrame(this.#inbound, frames[i] as Frame);
    }
  }

  /** The client broke the protocol: close with the error's code; the session cannot be resumed. */
  fail(error: ProtocolError, connection: ServerConnection | null = this.#connection): void {
    if (connection !== this.#connection || this.#ended) return;
    this.#host.logger.info(`surelink: session ${this.id}: ${error.message} (close ${error.closeCode})`);
    this.#end(error.closeCode, error.message);
  }

  /** The endpoint reports that `connection` closed. */
  connectionClosed(connection: ServerConnection, code: number, reason: string): void {
    if (connection === this.#connection) this.#lose(code, reason);
  }

  /** The grace period ran out. */
  expire(): void {
    this.#end(this.#lastLoss.code, 'session expired');
  }

  /**
   * The client sent `close`: nothing more goes out here. 1000 ends the session, and so does bad input
   * (4400, 4413: a resume would replay the frame it refused, for ever); other codes leave it resumable.
   */
  #peerClosed(code: number, reason: string): void {
    const connection = this.#connection;
    if (!connection) return;
    this.#detach();
    connection.closeTransport(isSendableCloseCode(code) ? code : CloseCode.Normal, reason);
    if (code === CloseCode.Normal || code === CloseCode.ProtocolError || code === CloseCode.FrameTooLarge)
      this.#end(code, reason);
    else this.#lose(code, reason);
  }

  /** Sends the response to request `id` as the next sequenced frame. */
  #respond(id: number, outcome: RequestOutcome): void {
    if (!outcome.ok && outcome.unexpected)
      this.#host.reportError(outcome.cause, `session ${this.id}: request ${id} handler`);
    if (this.#ended) return;
    const { text, encodeError } = encodeResponse(this.#outbox.nextSeq, id, outcome);
    if (encodeError !== undefined) this.#host.reportError(encodeError, `session ${this.id}: response to request ${id}`);
    this.#push(text);
  }

  /** Records a sequenced frame for replay and sends it if connected; overflow ends the session. */
  #push(text: string): void {
    if (this.#outbox.size >= this.#host.maxBufferedFrames) {
      this.#host.logger.warn(`surelink: session ${this.id}: ${this.#outbox.size} unacknowledged frames, closing`);
      this.#end(CloseCode.SlowConsumer, 'outgoing buffer overflow');
      return;
    }
    this.#outbox.record(text);
    this.#sendRaw(text);
  }

  #sendRaw(text: string): void {
    this.#connection?.send(text);
  }

  #startHeartbeat(connection: ServerConnection): void {
    this.#heartbeat = new ServerHeartbeat(this.#host.clock, this.#host.heartbeat, {
      ping: () => this.#sendRaw(encodeFrame({ type: 'ping', ts: this.#host.clock.now() })),
      dead: () => {
        if (connection !== this.#connection) return;
        this.#host.logger.info(`surelink: session ${this.id}: heartbeat timeout, terminating the connection`);
        this.#lose(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
        connection.terminate();
      },
    });
    this.#heartbeat.start();
  }

  #detach(): void {
    this.#heartbeat?.stop();
    this.#heartbeat = null;
    this.#acks.reset(this.#inbox.delivered);
    this.#connection = null;
  }

  /** The connection is gone but the session may be resumed. */
  #lose(code: number, reason: string): void {
    if (this.#ended) return;
    this.#detach();
    this.#lastLoss = { code, reason };
    this.#listeners.emit('disconnect', this.#lastLoss);
    if (!this.#ended) this.#host.disconnected(this);
  }

  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const connection = this.#connection;
    this.#detach();
    connection?.close(code, reason);
    // Never replayed now, but the object may outlive its end (in its link until the transport closed,
    // up to long polling's idle timeout; in application code; in a request handler still running):
    // its unacknowledged frames, up to maxBufferedFrames of them, go at once.
    this.#outbox.ack(this.#outbox.lastSeq);
    this.#host.ended(this);
    // Its last event: an `end` listener added later (after an `await` in a `connection` listener,
    // say) still hears how it ended, or its cleanup would never run.
    this.#listeners.final('end', { code, reason } satisfies EndInfo);
  }
}
