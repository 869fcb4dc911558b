import { batchChars, batcher, type Batcher } from '../protocol/batch.js';
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
  /** The server's welcome; `undefined` in raw mode. */
  readonly welcome: WelcomeFrame | undefined;
  #handlers: LinkHandlers | undefined;
  #early: (string | CloseInfo)[] = [];
  #closed = false;
  readonly #batch: Batcher | undefined;

  constructor(transport: Transport, welcome: WelcomeFrame | undefined) {
    this.transport = transport;
    this.welcome = welcome;
    const b = welcome?.batch;
    if (b) this.#batch = batcher((text) => this.#write(text), batchChars(b));
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

  send(text: string): void {
    if (this.#closed) return;
    if (this.#batch) this.#batch.push(text);
    else this.transport.send(text);
  }

  #write(text: string): void {
    if (!this.#closed) this.transport.send(text);
  }

  /** Ends the link from our side, after what is still batched: no handler fires afterwards. */
  close(code: number, reason: string): void {
    this.#batch?.flush();
    this.#closed = true;
    this.#handlers = undefined;
    this.#early = [];
    this.transport.close(code, reason);
  }
}
