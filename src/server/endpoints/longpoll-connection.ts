/**
 * One long-polling connection as a `ServerConnection`: frames the session sends wait in a queue
 * until a GET collects them; a close frame is the last thing a GET collects, and the id is gone
 * after it. A client that neither holds a GET nor makes a request for a while is gone (1006).
 * When the client asked for numbered batches, a POST is answered with the frames its own frames
 * produced (an echo, a response, an ack), so a round trip takes one HTTP exchange; the numbers
 * let the client put the responses of its GET and its POST back in order.
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
  /** The largest frame a POST carries: alone in a body (`[frame]`) within its limit, and within `maxFrameBytes`. */
  readonly maxFrameBytes: number;
}

/**
 * How long the frames queued before a `close` frame wait for a GET: as long as the WebSocket
 * endpoint waits for a peer's half of the close handshake (its unsent frames go with the socket).
 */
const CLOSE_WAIT_MS = 5_000;

export class PollConnection implements ServerConnection {
  readonly transport = 'longpoll' as const;
  request: IncomingMessage | undefined;
  readonly id: string;
  readonly maxFrameBytes: number;
  readonly #settings: PollSettings;
  readonly #forget: (connection: PollConnection, farewell: boolean) => void;
  readonly #timer: Timer;
  /** Runs from `close()`: what waits before the close frame goes, the close frame stays. */
  readonly #closeWait: Timer;
  #callbacks: ConnectionCallbacks | undefined;
  #queue: string[] = [];
  #queuedChars = 0;
  /** The client stopped collecting frames: nothing more is queued but the close frame. */
  #slow = false;
  #poll: ServerResponse | undefined;
  #flushScheduled = false;
  /** Number of the next batch of frames, when the client asked for numbered batches. */
  #batch: number | undefined;
  /** POSTs whose frames were handed on and whose answer is still to come: they collect the queue. */
  #collecting = 0;
  /** Set by `close()`: the close frame is queued and nothing more is. */
  #closing: { readonly code: number; readonly reason: string } | undefined;
  #ended = false;
  /** The frame text of this connection's hello POST: a POST repeating it is a resend (see `receive`). */
  #hello: string | undefined;

  /**
   * `forget` removes the id from the endpoint once the connection ended (`farewell`: a GET took its
   * close frame); `numbered`: the client takes numbered batches, also in POST responses.
   */
  constructor(
    id: string,
    request: IncomingMessage,
    settings: PollSettings,
    forget: (connection: PollConnection, farewell: boolean) => void,
    numbered = false,
  ) {
    this.id = id;
    if (numbered) this.#batch = 1;
    this.request = request;
    this.#settings = settings;
    this.maxFrameBytes = settings.maxFrameBytes;
    this.#forget = forget;
    this.#timer = new Timer(settings.clock);
    this.#closeWait = new Timer(settings.clock);
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
    const last = this.#queue.length - 1;
    if (isAck(text) && last >= 0 && isAck(this.#queue[last] as string)) {
      // Acks are cumulative: one still waiting here says nothing the newer one does not (a POST
      // of a thousand frames makes fifteen of them, and the client would process each).
      this.#queuedChars -= (this.#queue[last] as string).length;
      this.#queue[last] = text;
    } else this.#queue.push(text);
    this.#queuedChars += text.length;
    this.#scheduleFlush();
  }

  close(code: number, reason: string): void {
    if (this.#closing || this.#ended) return;
    this.#closing = { code, reason: fitReason(reason) };
    const text = closeFrameText(code, reason);
    this.#queue.push(text);
    this.#scheduleFlush();
    // The session ended and dropped its copies of these frames: a client that polls now gets them
    // (as a WebSocket peer that reads does), but one that vanished would leave them here until the
    // idle timeout (35 s), for no one. A GET that comes later still gets its close frame.
    if (this.#queue.length > 1)
      this.#closeWait.start(CLOSE_WAIT_MS, () => {
        this.#queue = [text];
        this.#queuedChars = text.length;
      });
  }

  /**
   * The answer to the client's own close frame: the id ends, nothing more goes out. A GET still
   * held is one the client gave up when it closed: 204, not the 404 a browser reports as an error.
   */
  closeTransport(code: number, reason: string): void {
    this.#end(code, reason, true);
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

  /**
   * Frames of a POST, in order; then answers it. For a client taking numbered batches the answer
   * waits until the microtasks and I/O callbacks these frames started have run (`setImmediate`),
   * and carries whatever was queued meanwhile, unless the connection is closing: the close frame
   * always goes in a GET response, so a GET never finds the id gone before the client has it.
   */
  receive(frames: readonly string[], res: ServerResponse): void {
    this.touch();
    // A browser sends a POST again when its connection closed before any answer (Chromium does, on
    // a reused keep-alive connection), though the first copy may have arrived. Events and requests
    // repeated so are duplicates by their seq; a hello would be a second one and end the session.
    const [first] = frames;
    if (frames.length === 1 && first === this.#hello) return noContent(res);
    if (this.#hello === undefined && first?.startsWith('["h"')) this.#hello = first;
    const collect = this.#batch !== undefined;
    if (collect) this.#collecting++;
    for (const text of frames) {
      if (this.#ended) break;
      // The session counts characters; the limit is in UTF-8 bytes, as a WebSocket or SockJS
      // endpoint counts each message's (at most 3 bytes a character: short frames skip the count).
      const bytes = text.length * 3 <= this.maxFrameBytes ? 0 : Buffer.byteLength(text);
      if (bytes > this.maxFrameBytes) {
        const error = `frame of ${bytes} bytes exceeds ${this.maxFrameBytes}`;
        this.#callbacks?.onProtocolError(new ProtocolError(error, CloseCode.FrameTooLarge));
        break;
      }
      this.#callbacks?.onMessage(text);
    }
    if (!collect) return noContent(res);
    setImmediate(() => {
      this.#collecting--;
      // A response gone meanwhile (the browser sent this POST again on another connection) takes
      // nothing: taken, its frames and their batch number were lost, and the client waited for them.
      if (this.#queue.length > 0 && !this.#closing && !this.#ended && !res.destroyed) reply(res, this.#take());
      else noContent(res);
      this.#scheduleFlush(); // what waited for this answer (a close frame) goes to the GET
    });
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
    if (this.#flushScheduled || !this.#poll || this.#collecting > 0 || this.#queue.length === 0) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      if (this.#queue.length > 0) this.#flush();
    });
  }

  /** Answers the held GET with everything queued (possibly nothing). */
  #flush(): void {
    const res = this.#poll;
    if (!res || this.#ended) return;
    this.#poll = undefined;
    reply(res, this.#take());
    if (this.#closing) this.#end(this.#closing.code, this.#closing.reason, false, true);
    else this.#idle();
  }

  /** Empties the queue into a response body: `[frame,…]`, or `[n,frame,…]` when batches are numbered. */
  #take(): string {
    const frames = this.#queue;
    this.#queue = [];
    this.#queuedChars = 0;
    if (frames.length === 0) return '[]';
    return this.#batch === undefined ? `[${frames.join(',')}]` : `[${this.#batch++},${frames.join(',')}]`;
  }

  #idle(): void {
    this.#timer.start(this.#settings.idleTimeoutMs, () => {
      this.#end(this.#closing?.code ?? CloseCode.Abnormal, this.#closing?.reason ?? 'long-polling client went away');
    });
  }

  /**
   * Exactly once: the id is forgotten, a held GET gets the queued close frame, or 404 (204 when the
   * client closed). `farewell`: the close frame just went in a GET answer.
   */
  #end(code: number, reason: string, byClient = false, farewell = false): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#timer.stop();
    this.#closeWait.stop();
    const res = this.#poll;
    this.#poll = undefined;
    const closeFrame = !!res && !!this.#closing && this.#queue.length > 0;
    this.#forget(this, farewell || closeFrame);
    if (res) {
      if (closeFrame) reply(res, this.#take());
      else if (byClient) noContent(res);
      else reply(res, 'unknown connection', 404);
    }
    this.#queue = [];
    this.#queuedChars = 0;
    this.#callbacks?.onClose(code, reason);
  }
}

/** Whether a frame's text, as the codec writes it, is an `ack` frame. */
function isAck(text: string): boolean {
  return text.startsWith('["a",');
}

/** 204, for a request that was accepted and has nothing to carry back. */
export function noContent(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(204);
  res.end();
}

/** Answers a poll (or refuses one); a response whose client left is skipped. */
export function reply(res: ServerResponse, body: string, status = 200): void {
  if (res.headersSent || res.destroyed) return;
  const type = status === 200 ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
