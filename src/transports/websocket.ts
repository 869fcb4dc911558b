import { TransportError } from '../errors/transport.js';
import { CloseCode } from '../protocol/close-codes.js';
import { fitCloseReason } from '../protocol/codec.js';
import type {
  Transport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  WebSocketConstructor,
  WebSocketLike,
} from './transport.js';

const deadLink: ReadonlySet<number> = new Set([CloseCode.HeartbeatTimeout, CloseCode.ConnectTimeout]);

/** What the socket's `on*` handlers receive; every WebSocket event names its `type`. */
interface SocketEvent {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
}

const ignore = (): void => {};

function constructorOf(ctx: TransportContext): WebSocketConstructor | undefined {
  return ctx.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/** Native WebSocket (or the injected one, e.g. `ws` on Node 20). */
export const websocketTransport: TransportFactory = {
  name: 'websocket',
  isSupported: (ctx) => (constructorOf(ctx) ? true : 'no WebSocket implementation: pass options.WebSocket'),
  connect(url, handlers, ctx) {
    const Ctor = constructorOf(ctx);
    if (!Ctor) throw new TransportError('websocket', 'no WebSocket implementation');
    return new WebSocketTransport(new Ctor(url), handlers);
  },
};

/**
 * Listeners live as long as the socket, so an idle connection keeps as few as possible: one
 * function for the four `on*` slots (it reads the event's `type`), or with `ws` one function on its
 * own events, where each `on*` slot would cost a wrapper per socket.
 */
class WebSocketTransport implements Transport {
  #socket: WebSocketLike;
  #handlers: TransportHandlers | undefined;
  #error: TransportError | undefined;
  #opened = false;
  /** The one listener on `ws`'s events; `undefined` with the `on*` slots. */
  readonly #wsListener: ((a?: unknown, b?: unknown) => void) | undefined;

  constructor(socket: WebSocketLike, handlers: TransportHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    if (socket.on && socket.once && socket.terminate) {
      const listener = (this.#wsListener = this.#ws.bind(this));
      socket.once('open', listener);
      socket.on('error', listener);
      socket.on('close', listener);
    } else socket.onopen = socket.onmessage = socket.onerror = socket.onclose = this.#event.bind(this);
  }

  get name(): 'websocket' {
    return 'websocket';
  }

  send(data: string): void {
    this.#socket.send(data);
  }

  close(code: number, reason: string): void {
    this.#handlers = undefined;
    this.#detach(code, reason);
  }

  #event(ev: SocketEvent): void {
    if (ev.type === 'open') {
      this.#socket.onopen = null;
      this.#openOrError();
    } else if (ev.type === 'message') this.#message(ev.data);
    else if (ev.type === 'error') this.#openOrError(ev);
    else if (ev.type === 'close') this.#closed(ev.code, ev.reason ?? '');
  }

  /**
   * `ws`'s events, told apart by their arguments: 'open' passes none, 'error' the error, 'message'
   * (data, isBinary) and 'close' (code, reason), with text and reason as Buffers. 'message' is
   * listened to once open, after 'open' is gone: a socket's listener table sized for three events
   * (as a plain `ws` client's) costs measurably less than one for four.
   */
  #ws(a?: unknown, b?: unknown): void {
    if (typeof b === 'boolean') this.#message(b ? a : String(a));
    else if (typeof a === 'number') this.#closed(a, String(b));
    else if (a !== undefined) this.#openOrError(a);
    else {
      if (this.#wsListener) this.#socket.on?.('message', this.#wsListener);
      this.#openOrError();
    }
  }

  #openOrError(error?: unknown): void {
    // A close event always follows an error; keep the error for it.
    if (error) this.#error ??= new TransportError('websocket', 'WebSocket error');
    else {
      this.#opened = true;
      this.#handlers?.onOpen();
    }
  }

  #message(data: unknown): void {
    if (typeof data === 'string') this.#handlers?.onMessage(data);
    else this.#finish(CloseCode.ProtocolError, 'binary frame received', true);
  }

  #closed(code: number | undefined, reason: string): void {
    // A socket that never opened cannot have closed cleanly, whatever code the implementation reports.
    this.#finish((this.#opened && code) || CloseCode.Abnormal, reason, false);
  }

  #finish(code: number, reason: string, closeSocket: boolean): void {
    const handlers = this.#handlers;
    if (!handlers) return;
    this.#handlers = undefined;
    if (closeSocket) this.#detach(code, reason);
    handlers.onClose({ code, reason, ...(this.#error ? { error: this.#error } : {}) });
  }

  #detach(code: number, reason: string): void {
    const socket = this.#socket;
    if (!this.#wsListener) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      // Keep a no-op error handler: `ws` emits 'error' on a socket closed while connecting.
      socket.onerror = ignore;
    }
    // Application codes only: 1006 and friends may not be sent by an endpoint.
    const wireCode = code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
    try {
      // A link presumed dead gets no close handshake: `ws` would hold the socket for 30 s.
      if (deadLink.has(code) && socket.terminate) socket.terminate();
      else socket.close(wireCode, fitCloseReason(reason));
    } catch {
      // Closing a socket that is already closing can throw in some implementations; nothing to do.
    }
  }
}
