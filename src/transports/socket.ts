/**
 * The adapter over a WebSocket-shaped socket: the native WebSocket, `ws` and sockjs-client alike
 * (`onopen`/`onmessage`/`onclose`, `send`, `close`). The WebSocket transport uses it as it is; the
 * SockJS transport attaches its socket once sockjs-client has loaded and reads close events its
 * own way (`closeInfo`).
 */
import { ProtocolError } from '../errors/protocol.js';
import { TransportError } from '../errors/transport.js';
import { ABNORMAL, CONNECT_TIMEOUT, HEARTBEAT_TIMEOUT, NORMAL } from '../protocol/close-codes.js';
import { fitCloseReason } from '../protocol/codec.js';
import { CLOSE_WAIT_MS } from '../protocol/limits.js';
import { nothing } from '../util/logger.js';
import type { CloseInfo, SockJSLike, Transport, TransportHandlers, TransportName, WebSocketLike } from './transport.js';

/** Whether `code` is of a link presumed dead: it is terminated, and nothing more is sent on it. */
export const isDeadLink = (code: number): boolean => code === HEARTBEAT_TIMEOUT || code === CONNECT_TIMEOUT;

/** Codes a server may send and `close()` accepts (WebSocket and SockJS alike). */
export function isApplicationCode(code: unknown): code is number {
  return code === NORMAL || (Number.isInteger(code) && (code as number) >= 3000 && (code as number) <= 4999);
}

/** What the adapter uses of a socket: sockjs-client's API, plus WebSocket's error slot and `ws`'s own API. */
type Socket = SockJSLike & Pick<WebSocketLike, 'on' | 'once' | 'terminate'> & { onerror?: WebSocketLike['onerror'] };

/** What the socket's `on*` handlers receive; every WebSocket and sockjs-client event names its `type`. */
interface SocketEvent {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  /** sockjs-client: true only when the server sent a close frame. */
  readonly wasClean?: boolean;
}

/** A timer that does not keep Node's event loop alive (browsers have no `unref`). */
export function unrefTimer(fn: () => void, ms: number): void {
  (setTimeout(fn, ms) as { unref?(): void }).unref?.();
}

/**
 * Listeners live as long as the socket, so an idle connection keeps as few as possible: one
 * function for the four `on*` slots, or with `ws` one function on its own events, where each
 * `on*` slot would cost a wrapper per socket.
 */
export class SocketTransport implements Transport {
  #socket: Socket | undefined;
  /** Undefined once closed, by either side: then no handler fires. */
  #handlers: TransportHandlers | undefined;
  #error: TransportError | undefined;
  #opened = false;
  /** The listener on `ws`'s own events; `undefined` with the `on*` slots. */
  #ws: ((a?: unknown, b?: unknown) => void) | undefined;

  constructor(handlers: TransportHandlers, socket?: Socket) {
    this.#handlers = handlers;
    if (socket) this.attach(() => socket);
  }

  get name(): TransportName {
    return 'websocket';
  }

  send(data: string): void {
    this.#socket?.send(data);
  }

  close(code: number, reason: string): void {
    this.#handlers = undefined;
    this.#detach(code, reason);
  }

  /** Listens on the socket `create` makes, unless this transport was closed before (then none is made). */
  protected attach(create: () => Socket): void {
    if (!this.#handlers) return;
    const socket = (this.#socket = create());
    const listener = this.#event.bind(this);
    if (socket.on && socket.once && socket.terminate) {
      this.#ws = listener;
      socket.once('open', listener);
      socket.on('error', listener);
      socket.on('close', listener);
    } else socket.onopen = socket.onmessage = socket.onerror = socket.onclose = listener;
  }

  /** Ends the connection with `error` (one onClose, unless closed already); `closeSocket` closes the socket too. */
  protected fail(error: TransportError | ProtocolError, closeSocket?: boolean): void {
    this.#finish({ code: error.closeCode, reason: error.message, error }, closeSocket);
  }

  /**
   * What a close event means. A socket that never opened cannot have closed cleanly, whatever
   * code the implementation reports; an error event before the close is reported with it.
   */
  protected closeInfo(
    code: number | undefined,
    reason: string,
    _wasClean: boolean | undefined,
    opened: boolean,
  ): CloseInfo {
    return { code: (opened && code) || ABNORMAL, reason, ...(this.#error && { error: this.#error }) };
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
    const socket = this.#socket as Socket;
    if (type === 'open') {
      this.#opened = true;
      if (this.#ws) socket.on?.('message', this.#ws);
      else socket.onopen = null;
      this.#handlers?.onOpen();
    } else if (type === 'message') {
      // `toString()`, not `String()`: the direct call is about twice as fast on a Buffer, once per message.
      const data = ev ? ev.data : b ? a : (a as { toString(): string }).toString();
      if (typeof data === 'string') this.#handlers?.onMessage(data);
      else {
        // Bad input, as a malformed text frame is: a ProtocolError the client reports (`error`), in either mode.
        this.fail(new ProtocolError('binary frame received'), true);
      }
    } else if (type === 'error') {
      // A close event always follows an error; keep the error for it. A browser's error event says
      // nothing, but `ws` passes what failed (ECONNREFUSED, the upgrade's HTTP status): keep that.
      this.#error ??= new TransportError('websocket', ev ? 'WebSocket error' : String(a), undefined, { cause: a });
    } else if (type === 'close') {
      this.#finish(
        this.closeInfo(ev ? ev.code : (a as number), ev ? (ev.reason ?? '') : String(b), ev?.wasClean, this.#opened),
      );
    }
  }

  /** Closes the socket (`close`) for a close with `code`, not a dead link's terminate: at once here. */
  protected closeSocket(close: () => void, _code: number): void {
    close();
  }

  #finish(info: CloseInfo, closeSocket?: boolean): void {
    const handlers = this.#handlers;
    if (!handlers) return;
    this.#handlers = undefined;
    if (closeSocket) this.#detach(info.code, info.reason);
    handlers.onClose(info);
  }

  #detach(code: number, reason: string): void {
    const socket = this.#socket;
    if (!socket) return;
    if (!this.#ws) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      // Keep a no-op error handler: `ws` emits 'error' on a socket closed while connecting.
      socket.onerror = nothing;
    }
    // Application codes only: 1006 and friends may not be sent by an endpoint.
    try {
      // A link presumed dead gets no close handshake: `ws` would hold the socket for 30 s.
      if (isDeadLink(code) && socket.terminate) socket.terminate();
      else {
        this.closeSocket(() => socket.close(isApplicationCode(code) ? code : NORMAL, fitCloseReason(reason)), code);
        // `ws` (Node) waits 30 s for the server's close frame, and so does a script's exit. The
        // goodbye is written by now; without an answer the socket goes after CLOSE_WAIT_MS.
        if (socket.terminate) unrefTimer(() => socket.terminate?.(), CLOSE_WAIT_MS);
      }
    } catch {
      // Closing a socket that is already closing can throw in some implementations; nothing to do.
    }
  }
}
