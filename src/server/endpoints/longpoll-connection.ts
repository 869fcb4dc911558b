/**
 * One long-polling connection as a `ServerConnection`: frames the session sends wait in a queue
 * until a GET collects them; a close frame is the last thing a GET collects, and the id is gone
 * after it. A client that neither holds a GET nor makes a request for a while is gone (1006).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolError } from '../../errors/protocol.js';
import { CloseCode } from '../../protocol/close-codes.js';
import { Timer } from '../../util/clock.js';
import type { Clock } from '../../util/clock.js';
import { closeFrameText, fitReason } from '../connection.js';
import type { ConnectionCallbacks, ServerConnection } from '../connection.js';

export interface PollSettings {
  readonly clock: Clock;
  /** A held GET with nothing to send is answered `[]` after this long. */
  readonly pollTimeoutMs: number;
  /** Without a held GET, the connection is gone after this long without a request. */
  readonly idleTimeoutMs: number;
  /** Text waiting for a GET above which the next send reports a slow consumer (4508). */
  readonly maxQueuedChars: number;
}

export class PollConnection implements ServerConnection {
  readonly transport = 'longpoll' as const;
  readonly request: IncomingMessage;
  readonly id: string;
  readonly #settings: PollSettings;
  readonly #forget: (connection: PollConnection) => void;
  readonly #timer: Timer;
  #callbacks: ConnectionCallbacks | undefined;
  #queue: string[] = [];
  #queuedChars = 0;
  /** The client stopped collecting frames: nothing more is queued but the close frame. */
  #slow = false;
  #poll: ServerResponse | undefined;
  #flushScheduled = false;
  /** Set by `close()`: the close frame is queued and nothing more is. */
  #closing: { readonly code: number; readonly reason: string } | undefined;
  #ended = false;

  /** `forget` removes the id from the endpoint once the connection ended. */
  constructor(
    id: string,
    request: IncomingMessage,
    settings: PollSettings,
    forget: (connection: PollConnection) => void,
  ) {
    this.id = id;
    this.request = request;
    this.#settings = settings;
    this.#forget = forget;
    this.#timer = new Timer(settings.clock);
    this.#idle();
  }

  get ended(): boolean {
    return this.#ended;
  }

  bind(callbacks: ConnectionCallbacks): void {
    this.#callbacks = callbacks;
  }

  send(text: string): void {
    if (this.#closing || this.#ended || this.#slow) return;
    if (this.#queuedChars > this.#settings.maxQueuedChars) return this.#slowConsumer();
    this.#queue.push(text);
    this.#queuedChars += text.length;
    this.#scheduleFlush();
  }

  close(code: number, reason: string): void {
    if (this.#closing || this.#ended) return;
    this.#closing = { code, reason: fitReason(reason) };
    this.#queue.push(closeFrameText(code, reason));
    this.#scheduleFlush();
  }

  /** The answer to the client's own close frame: the id ends, nothing more goes out. */
  closeTransport(code: number, reason: string): void {
    this.#end(code, reason);
  }

  terminate(): void {
    this.#end(CloseCode.Abnormal, 'terminated');
  }

  /** A GET: held until there is something to send; it replaces (answers `[]`) an older one. */
  poll(res: ServerResponse): void {
    const previous = this.#poll;
    this.#poll = res;
    if (previous) reply(previous, '[]');
    res.once('close', () => {
      if (this.#poll !== res) return;
      this.#poll = undefined; // the client went away or aborted
      this.#idle();
    });
    if (this.#queue.length > 0) this.#flush();
    else this.#timer.start(this.#settings.pollTimeoutMs, () => this.#flush());
  }

  /** Any request for this id shows the client is alive. */
  touch(): void {
    if (!this.#poll && !this.#ended) this.#idle();
  }

  /** Frames of a POST, in order. */
  receive(frames: readonly string[]): void {
    this.touch();
    for (const text of frames) {
      if (this.#ended) return;
      this.#callbacks?.onMessage(text);
    }
  }

  /** A POST the endpoint refused (400, 413): the session handles it as a bad frame, then the id ends. */
  refuse(error: ProtocolError): void {
    this.#callbacks?.onProtocolError(error);
    this.#end(error.closeCode, error.message);
  }

  /** DELETE: like a WebSocket that dropped, unless the server was closing it anyway. */
  remove(): void {
    this.#end(this.#closing?.code ?? CloseCode.Abnormal, this.#closing?.reason ?? 'client ended the connection');
  }

  /**
   * Unread polls: the session is about to end (4508), so what waits for a GET is dropped now and
   * only the close frame will be queued. Reported after the caller's send returned.
   */
  #slowConsumer(): void {
    this.#slow = true;
    const error = new ProtocolError(
      `client is not polling: ${this.#queuedChars} characters unsent, limit ${this.#settings.maxQueuedChars}`,
      CloseCode.SlowConsumer,
    );
    this.#queue = [];
    this.#queuedChars = 0;
    queueMicrotask(() => this.#callbacks?.onProtocolError(error));
  }

  /** Frames queued in one tick (welcome plus a resume replay, a burst of events) go out together. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || !this.#poll) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Answers the held GET with everything queued (possibly nothing). */
  #flush(): void {
    const res = this.#poll;
    if (!res || this.#ended) return;
    this.#poll = undefined;
    const frames = this.#queue;
    this.#queue = [];
    this.#queuedChars = 0;
    reply(res, `[${frames.join(',')}]`);
    if (this.#closing) this.#end(this.#closing.code, this.#closing.reason);
    else this.#idle();
  }

  #idle(): void {
    this.#timer.start(this.#settings.idleTimeoutMs, () => {
      this.#end(this.#closing?.code ?? CloseCode.Abnormal, this.#closing?.reason ?? 'long-polling client went away');
    });
  }

  /** Exactly once: the id is forgotten, a held GET gets the queued close frame or 404. */
  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#timer.stop();
    this.#forget(this);
    const res = this.#poll;
    this.#poll = undefined;
    if (res) {
      if (this.#closing && this.#queue.length > 0) reply(res, `[${this.#queue.join(',')}]`);
      else reply(res, 'unknown connection', 404);
    }
    this.#queue = [];
    this.#queuedChars = 0;
    this.#callbacks?.onClose(code, reason);
  }
}

/** Answers a poll (or refuses one); a response whose client left is skipped. */
export function reply(res: ServerResponse, body: string, status = 200): void {
  if (res.headersSent || res.destroyed) return;
  const type = status === 200 ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
