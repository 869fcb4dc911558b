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

class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  #socket: WebSocketLike;
  #handlers: TransportHandlers | undefined;

  constructor(socket: WebSocketLike, handlers: TransportHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    socket.onopen = () => {
      this.#opened = true;
      this.#handlers?.onOpen();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.#handlers?.onMessage(ev.data);
      else this.#finish(CloseCode.ProtocolError, 'binary frame received', true);
    };
    socket.onerror = () => {
      // A close event always follows an error; keep the error for it.
      this.#error ??= new TransportError('websocket', 'WebSocket error');
    };
    // A socket that never opened cannot have closed cleanly, whatever code the implementation reports.
    socket.onclose = (ev) =>
      this.#finish(this.#opened ? ev.code || CloseCode.Abnormal : CloseCode.Abnormal, ev.reason, false);
  }

  #error: TransportError | undefined;
  #opened = false;

  send(data: string): void {
    this.#socket.send(data);
  }

  close(code: number, reason: string): void {
    this.#handlers = undefined;
    this.#detach(code, reason);
  }

  #finish(code: number, reason: string, closeSocket: boolean): void {
    const handlers = this.#handlers;
    this.#handlers = undefined;
    if (closeSocket) this.#detach(code, reason);
    handlers?.onClose({ code, reason, ...(this.#error ? { error: this.#error } : {}) });
  }

  #detach(code: number, reason: string): void {
    const socket = this.#socket;
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Keep a no-op error handler: `ws` emits 'error' on a socket closed while connecting.
    socket.onerror = () => {};
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
