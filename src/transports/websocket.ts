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

/** Codes of a link presumed dead: it is terminated, and nothing more is sent on it. */
export const deadLink: ReadonlySet<number> = new Set([CloseCode.HeartbeatTimeout, CloseCode.ConnectTimeout]);

/** What the socket's `on*` handlers receive; every WebSocket event names its `type`. */
interface SocketEvent {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
}

const ignore = (): void => {};

/** Codes a server may send and `close()` accepts (WebSocket and SockJS alike). */
export function isApplicationCode(code: unknown): code is number {
  return code === 1000 || (typeof code === 'number' && Number.isInteger(code) && code >= 3000 && code <= 4999);
}

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
 * function for the four `on*` slots, or with `ws` one function on its own events, where each
 * `on*` slot would cost a wrapper per socket.
 */
class WebSocketTransport implements Transport {
  #socket: WebSocketLike;
  #handlers: TransportHandlers | undefined;
  #error: TransportError | undefined;
  #opened = false;
  /** The listener on `ws`'s own events; `undefined` with the `on*` slots. */
  readonly #ws: ((a?: unknown, b?: unknown) => void) | undefined;

  constructor(socket: WebSocketLike, handlers: TransportHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    const listener = this.#event.bind(this);
    if (socket.on && socket.once && socket.terminate) {
      this.#ws = listener;
      socket.once('open', listener);
      socket.on('error', listener);
      socket.on('close', listener);
    } else socket.onopen = socket.onmessage = socket.onerror = socket.onclose = listener;
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

  /**
   * Every event of the socket: an event object naming its `type`, or `ws`'s arguments, which tell
   * its events apart: none for 'open', the error for 'error', (data, isBinary) for 'message' and
   * (code, reason) for 'close', with text and reason as Buffers. With `ws`, 'message' is listened
   * to once open, after 'open' is gone: a socket's listener table sized for three events (as a
   * plain `ws` client's) costs measurably less than one for four.
   */
  #event(a?: unknown, b?: unknown): void {
    const ev = this.#ws ? undefined : (a as SocketEvent);
    const type = ev
      ? ev.type
      : typeof b === 'boolean'
        ? 'message'
        : typeof a === 'number'
          ? 'close'
          : a === undefined
            ? 'open'
            : 'error';
    const handlers = this.#handlers;
    if (type === 'open') {
      this.#opened = true;
      if (this.#ws) this.#socket.on?.('message', this.#ws);
      else this.#socket.onopen = null;
      handlers?.onOpen();
    } else if (type === 'message') {
      const data = ev ? ev.data : b ? a : String(a);
      if (typeof data === 'string') handlers?.onMessage(data);
      else this.#finish(CloseCode.ProtocolError, 'binary frame received', true);
    } else if (type === 'error') {
      // A close event always follows an error; keep the error for it.
      this.#error ??= new TransportError('websocket', 'WebSocket error');
    } else if (type === 'close') {
      // A socket that never opened cannot have closed cleanly, whatever code the implementation reports.
      const code = ev ? ev.code : (a as number);
      this.#finish((this.#opened && code) || CloseCode.Abnormal, ev ? (ev.reason ?? '') : String(b), false);
    }
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
    if (!this.#ws) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      // Keep a no-op error handler: `ws` emits 'error' on a socket closed while connecting.
      socket.onerror = ignore;
    }
    // Application codes only: 1006 and friends may not be sent by an endpoint.
    try {
      // A link presumed dead gets no close handshake: `ws` would hold the socket for 30 s.
      if (deadLink.has(code) && socket.terminate) socket.terminate();
      else socket.close(isApplicationCode(code) ? code : 1000, fitCloseReason(reason));
    } catch {
      // Closing a socket that is already closing can throw in some implementations; nothing to do.
    }
  }
}
