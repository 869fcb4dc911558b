/**
 * What the SockJS endpoint needs from inside the `sockjs` package (0.3.x), which its API does not
 * offer: how much a connection holds unsent, and a close that really closes the raw route's
 * WebSocket. Read from its session object (`conn._session`, lib/transport.js and
 * lib/trans-websocket.js):
 *
 * - a SockJS session (every route under `${prefix}/<server>/<session>/`) queues what is written in
 *   `send_buffer` while no request or socket receives it (a polling client between two polls, a
 *   stream being reopened), and hands it to its receiver `recv` otherwise, which writes it to a
 *   socket at once: `recv.connection` (WebSocket) or `recv.response.socket` (HTTP streaming);
 * - on the raw WebSocket route (`${prefix}/websocket`) the "session" is the receiver itself, with
 *   `recv.connection` and the faye-websocket socket as `ws`; nothing is queued in between.
 *
 * Every read is checked, so another shape of those objects makes the bound see less, not throw.
 */

/** The part of a sockjs connection the endpoint writes to and closes. */
export interface SockJSConn {
  write(text: string): boolean;
  close(code: number, reason: string): boolean;
}

interface Closable {
  close(code: number, reason: string): void;
}

/** Unsent characters in the send buffer plus unsent bytes of the socket the receiver writes to. */
export class SockJSBacklog {
  readonly #conn: object;
  /**
   * The send buffer last seen: sockjs swaps in a new array each time it flushes one. Weakly: the
   * flushed array holds what was sent, and an idle connection kept its last message (a broadcast's
   * payload in every session) until it sent another.
   */
  #buffer: WeakRef<object> | undefined;
  #bufferChars = 0;

  constructor(conn: object) {
    this.#conn = conn;
  }

  /** What the client has not taken yet, in bytes or (still in sockjs's buffer) characters. */
  get size(): number {
    const session = sessionOf(this.#conn);
    const buffer = read(session, 'send_buffer');
    if (buffer !== this.#buffer?.deref()) {
      // A new array (or the first look): counted once here, then kept up to date by `wrote`.
      this.#buffer = Array.isArray(buffer) ? new WeakRef(buffer) : undefined;
      this.#bufferChars = Array.isArray(buffer) ? buffer.reduce((n: number, s: unknown) => n + String(s).length, 0) : 0;
    }
    const recv = read(session, 'recv');
    const socket = read(recv, 'connection') ?? read(read(recv, 'response'), 'socket');
    const unsent = read(socket, 'writableLength');
    return this.#bufferChars + (typeof unsent === 'number' ? unsent : 0);
  }

  /**
   * After `text` was written: it waits in the buffer unless sockjs flushed it (a new array). The
   * raw route has no buffer at all: nothing to count there.
   */
  wrote(text: string): void {
    const buffer = read(sessionOf(this.#conn), 'send_buffer');
    if (Array.isArray(buffer) && buffer === this.#buffer?.deref()) this.#bufferChars += text.length;
  }
}

/**
 * Closes a sockjs connection. SockJS close frames carry any code, but on the raw WebSocket route
 * (`${prefix}/websocket`) sockjs hands the code to faye-websocket, which throws for codes other
 * than 1000 and 3000-4999 (1001, 1006, 1011, 1013 ...) after sockjs already marked itself closing:
 * a second `close` is then ignored, and the socket stayed open with nothing more coming. A peer
 * that got no close frame (terminated, taken over by a resume) learned of it only from its own
 * heartbeat, 30 s by default. So the socket is closed here with `fallback`: 1000 when a close frame
 * with the real code went out first, a retryable code when none did. (sockjs's own websocket
 * transport always closes its socket with 1000 after the SockJS close frame.)
 */
export function closeSockJS(conn: SockJSConn, code: number, reason: string, fallback: number): void {
  try {
    conn.close(code, reason);
  } catch {
    const ws = read(sessionOf(conn), 'ws');
    if (isClosable(ws)) ws.close(fallback, reason);
  }
}

function sessionOf(conn: object): unknown {
  return read(conn, '_session');
}

function read(from: unknown, key: string): unknown {
  return typeof from === 'object' && from !== null ? (from as Record<string, unknown>)[key] : undefined;
}

function isClosable(value: unknown): value is Closable {
  return typeof read(value, 'close') === 'function';
}
