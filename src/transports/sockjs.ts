/**
 * SockJS fallback over `sockjs-client`, for networks where a WebSocket cannot get through. The
 * constructor is injected (`options.SockJS`), taken from `window.SockJS` when the page loaded
 * sockjs-client's own script, or loaded on demand (`sockjs-loader.ts`: a dynamic `import()` in the
 * ESM build), so an app that never falls back never downloads it. A failed load fails this attempt
 * with a `TransportError` and the client moves on to the next transport.
 */
import { TransportError } from '../errors/transport.js';
import { CloseCode } from '../protocol/close-codes.js';
import { fitCloseReason } from '../protocol/codec.js';
import { loadSockJS } from './sockjs-loader.js';
import { isApplicationCode } from './websocket.js';
import type {
  SockJSConstructor,
  SockJSLike,
  Transport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
} from './transport.js';

/**
 * sockjs-client's transports minus the `iframe-*` ones. Those need a second copy of sockjs-client
 * inside an iframe (the server's `sockjs_url`) and only help browsers without CORS XHR, which no
 * supported browser is; trying them would spend the connect timeout on transports bound to fail.
 */
export const DEFAULT_SOCKJS_TRANSPORTS: readonly string[] = [
  'websocket',
  'xhr-streaming',
  'xdr-streaming',
  'eventsource',
  'htmlfile',
  'xhr-polling',
  'xdr-polling',
  'jsonp-polling',
];

/** Options of {@link createSockJSTransport}. */
export interface SockJSTransportOptions {
  /**
   * sockjs-client transports to allow, in its own order of preference (its `transports` option).
   * @default DEFAULT_SOCKJS_TRANSPORTS (every transport but the iframe-based ones)
   */
  readonly transports?: readonly string[];
}

/**
 * A SockJS transport factory with custom sockjs-client options; `sockjsTransport` is the default.
 * @example
 * new RealtimeClient(url, { transports: ['websocket', createSockJSTransport({ transports: ['xhr-streaming'] })] });
 */
export function createSockJSTransport(options: SockJSTransportOptions = {}): TransportFactory {
  const transports = [...(options.transports ?? DEFAULT_SOCKJS_TRANSPORTS)];
  return {
    name: 'sockjs',
    // Loaded on demand: whether it can load is only known by trying.
    isSupported: () => true,
    connect: (url, handlers, ctx) => {
      // WebSocket already failed on this network: sockjs-client's own websocket would fail the same way.
      const allowed = ctx.avoidWebSocket ? transports.filter((t) => t !== 'websocket') : transports;
      return new SockJSTransport(url, handlers, ctx, { transports: allowed.length > 0 ? allowed : [...transports] });
    },
  };
}

/** SockJS through `sockjs-client`, talking to any SockJS server (ours is at `${path}/sockjs`). */
export const sockjsTransport: TransportFactory = createSockJSTransport();

function constructorOf(ctx: TransportContext): Promise<SockJSConstructor> {
  const global = (globalThis as { SockJS?: unknown }).SockJS;
  if (ctx.SockJS) return Promise.resolve(ctx.SockJS);
  if (typeof global === 'function') return Promise.resolve(global as SockJSConstructor);
  return loadSockJS();
}

/** sockjs-client's close event; `wasClean` is true only when the server sent a close frame. */
interface SockJSCloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean?: boolean;
}

class SockJSTransport implements Transport {
  readonly name = 'sockjs';
  #handlers: TransportHandlers | undefined;
  #socket: SockJSLike | undefined;
  #closed = false;

  constructor(url: string, handlers: TransportHandlers, ctx: TransportContext, options: Record<string, unknown>) {
    this.#handlers = handlers;
    // Always through a promise, so no handler can fire during connect().
    constructorOf(ctx).then(
      (Ctor) => this.#start(Ctor, url, options),
      (error: unknown) => this.#failed(error, 'could not load sockjs-client'),
    );
  }

  send(data: string): void {
    this.#socket?.send(data);
  }

  close(code: number, reason: string): void {
    this.#closed = true;
    this.#handlers = undefined;
    this.#detach(code, reason);
  }

  #start(Ctor: SockJSConstructor, url: string, options: Record<string, unknown>): void {
    if (this.#closed) return; // closed while loading: the socket is never created
    let socket: SockJSLike;
    try {
      socket = new Ctor(url, undefined, options);
    } catch (error) {
      this.#failed(error, 'SockJS constructor threw');
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#handlers?.onOpen();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.#handlers?.onMessage(ev.data);
      else this.#finish({ code: CloseCode.ProtocolError, reason: 'non-text SockJS message received' }, true);
    };
    socket.onclose = (ev: SockJSCloseEvent) => this.#finish(closeInfo(ev, opened), false);
  }

  #failed(cause: unknown, message: string): void {
    const error =
      cause instanceof TransportError
        ? cause
        : new TransportError('sockjs', `${message}: ${String(cause)}`, CloseCode.Abnormal, { cause });
    this.#finish({ code: CloseCode.Abnormal, reason: error.message, error }, false);
  }

  #finish(info: { code: number; reason: string; error?: Error }, closeSocket: boolean): void {
    const handlers = this.#handlers;
    this.#handlers = undefined;
    this.#closed = true;
    if (closeSocket) this.#detach(info.code, info.reason);
    handlers?.onClose(info);
  }

  #detach(code: number, reason: string): void {
    const socket = this.#socket;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      // sockjs-client throws on other codes and on reasons over 123 characters.
      socket.close(isApplicationCode(code) ? code : CloseCode.Normal, fitCloseReason(reason));
    } catch {
      // Already closed ("InvalidStateError"): nothing left to do.
    }
  }
}

/**
 * Only a close frame from the server (`wasClean`) carrying an application code is taken as is.
 * Everything sockjs-client reports itself (1002 cannot connect, 2000 all transports failed, 1006
 * session lost, a sub-transport's own close codes) is a dropped link: 1006, which is retried.
 */
function closeInfo(ev: SockJSCloseEvent, opened: boolean): { code: number; reason: string; error?: Error } {
  if (ev.wasClean !== false && isApplicationCode(ev.code)) return { code: ev.code, reason: ev.reason ?? '' };
  const reason = `${ev.reason || 'connection lost'} (SockJS code ${String(ev.code)})`;
  const error = new TransportError('sockjs', `SockJS ${opened ? 'connection lost' : 'could not connect'}: ${reason}`);
  return { code: CloseCode.Abnormal, reason, error };
}
