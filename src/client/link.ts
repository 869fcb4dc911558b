import { batchChars, encodeBatch, takeBatch } from '../protocol/batch.js';
import { ABNORMAL } from '../protocol/close-codes.js';
import type { WelcomeFrame } from '../protocol/frames.js';
import type { CloseInfo, Transport } from '../transports/transport.js';

export interface LinkHandlers {
  onMessage(text: string): void;
  onClose(info: CloseInfo): void;
}

/**
 * A connection that completed its handshake. Frames that arrive between the handshake and the
 * moment the client attaches (a resume replay often follows `welcome` in the same tick) are
 * buffered and handed over in order, so nothing is lost in the gap. When the server's welcome
 * says it accepts batches, the frames sent in one tick go out as one message.
 */
export class Link {
  // `declare`d, set in the constructor: a class field would be emitted once more as a declaration.
  declare readonly transport: Transport;
  /** The server's welcome; `undefined` in raw mode, and once the connection applied it. */
  declare welcome: WelcomeFrame | undefined;
  #handlers: LinkHandlers | undefined;
  #early: (string | CloseInfo)[] = [];
  #closed: true | undefined;
  /** Most UTF-16 code units one batch holds; 0 when the server takes one frame per message. */
  readonly #max: number;
  /**
   * Frames waiting for the end of this tick; `null` once a frame went at once and neither the
   * server spoke nor a batch went since; `undefined` when the next frame goes at once.
   */
  #tick: string[] | null | undefined;

  constructor(transport: Transport, welcome: WelcomeFrame | undefined) {
    this.transport = transport;
    this.welcome = welcome;
    this.#max = batchChars(welcome?.b ?? 0);
  }

  attach(handlers: LinkHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const item of early) {
      if (this.#handlers !== handlers) return; // a handler closed the link meanwhile
      if (typeof item === 'string') handlers.onMessage(item);
      else {
        this.#handlers = undefined;
        handlers.onClose(item);
      }
    }
  }

  /** Called by the transport handlers. */
  receive(text: string): void {
    if (this.#closed) return;
    if (this.#tick === null) this.#tick = undefined; // a reply goes at once
    if (this.#handlers) this.#handlers.onMessage(text);
    else this.#early.push(text);
  }

  /** Called by the transport handlers. Before `attach`, the close waits in line; nothing more is written. */
  closed(info: CloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    const handlers = this.#handlers;
    this.#handlers = undefined;
    if (handlers) handlers.onClose(info);
    else this.#early.push(info);
  }

  /**
   * Sends one frame. With a server that takes batches, a frame goes at once when it is the first
   * since the server last spoke or a batch last went; one after it waits with the rest of its tick
   * for a microtask, and they go together. So a reply arms nothing, and a burst costs one microtask
   * (protocol/batch.ts has the same logic for the server; the client's copy is inlined for its
   * bundle size). Returns whether the link is still up: in raw mode, which never batches, whether
   * the frame was written.
   */
  send(text: string): boolean {
    if (this.#closed) return false;
    if (this.#tick) this.#tick.push(text);
    else if (this.#tick === null && this.#max) {
      this.#tick = [text];
      void Promise.resolve(this).then(Link.#flushOf);
    } else {
      this.#tick = null;
      this.#write(text);
    }
    return !this.#closed;
  }

  /** One function for every link's end-of-tick flush: a send allocates no closure for it. */
  static #flushOf(link: Link): void {
    link.#flush();
  }

  #flush(): void {
    const frames = this.#tick ?? [];
    this.#tick = undefined;
    while (frames.length > 0 && !this.#closed) {
      const batch = takeBatch(frames, this.#max);
      this.#write(batch.length > 1 ? encodeBatch(batch) : (batch[0] as string));
    }
  }

  /**
   * The one place a frame meets the transport. A transport whose `send` throws (a custom one, a
   * socket in an odd state) loses the link like a drop (1006): the throw reaches neither the app's
   * `send()` nor a timer, and what it did not take stays unacknowledged, to go again after the resume.
   */
  #write(text: string): void {
    try {
      this.transport.send(text);
    } catch (error) {
      // The thrown value, not a TransportError (a network failure): the client reports it (`#lose`).
      const reason = `send failed: ${String(error)}`;
      shut(this.transport, ABNORMAL, reason);
      this.closed({ code: ABNORMAL, reason, error: error as Error });
    }
  }

  /** Ends the link from our side, after what is still batched: no handler fires afterwards. */
  close(code: number, reason: string): void {
    this.#handlers = undefined; // first: a write of the batch that throws now is no loss to report
    this.#flush();
    this.#closed = true;
    this.#early = [];
    shut(this.transport, code, reason);
  }
}

/**
 * Closes `transport`, if any. A custom transport whose `close()` throws is closed as far as the
 * client cares: the throw must not leave `close()` half done (state open, heartbeat running).
 */
export function shut(transport: Transport | undefined, code: number, reason: string): void {
  try {
    transport?.close(code, reason);
  } catch {
    // nothing more the client can do with it
  }
}
