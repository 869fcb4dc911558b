import { batchChars, encodeBatch, takeBatch } from '../protocol/batch.js';
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
  readonly transport: Transport;
  /** The server's welcome; `undefined` in raw mode, and once the connection applied it. */
  welcome: WelcomeFrame | undefined;
  #handlers: LinkHandlers | undefined;
  #early: (string | CloseInfo)[] = [];
  #closed = false;
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
      else this.closed(item);
    }
  }

  /** Called by the transport handlers. */
  receive(text: string): void {
    if (this.#closed) return;
    if (this.#tick === null) this.#tick = undefined; // a reply goes at once
    if (this.#handlers) this.#handlers.onMessage(text);
    else this.#early.push(text);
  }

  /** Called by the transport handlers. */
  closed(info: CloseInfo): void {
    if (this.#closed) return;
    if (!this.#handlers) {
      this.#early.push(info);
      return;
    }
    this.#closed = true;
    const handlers = this.#handlers;
    this.#handlers = undefined;
    handlers.onClose(info);
  }

  /**
   * Sends one frame. With a server that takes batches, a frame goes at once when it is the first
   * since the server last spoke or a batch last went; one after it waits with the rest of its tick
   * for a microtask, and they go together. So a reply arms nothing, and a burst
   * costs one microtask (protocol/batch.ts has the same logic for the server; the client's copy
   * is inlined for its bundle size).
   */
  send(text: string): void {
    if (this.#closed) return;
    if (this.#tick) return void this.#tick.push(text);
    if (this.#tick === null && this.#max) {
      this.#tick = [text];
      return void Promise.resolve(this).then(Link.#flushOf);
    }
    this.#tick = null;
    this.transport.send(text);
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
      this.transport.send(batch.length > 1 ? encodeBatch(batch) : (batch[0] as string));
    }
  }

  /** Ends the link from our side, after what is still batched: no handler fires afterwards. */
  close(code: number, reason: string): void {
    this.#flush();
    this.#closed = true;
    this.#handlers = undefined;
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
