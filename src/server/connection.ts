/**
 * The one contract between the session logic and an endpoint. An endpoint (WebSocket today, SockJS
 * and long polling later) turns each physical connection into a `ServerConnection`, hands it to the
 * server's `ConnectionAcceptor` and drives the returned callbacks. Nothing above this file knows
 * which endpoint a frame came through.
 */
import type { IncomingMessage } from 'node:http';
import type { ProtocolError } from '../errors/protocol.js';
import { encodeFrame } from '../protocol/codec.js';

/** Which endpoint a connection came through. */
export type ServerTransportName = 'websocket' | 'sockjs' | 'longpoll';

/** One physical connection, as the session logic sees it. */
export interface ServerConnection {
  readonly transport: ServerTransportName;
  /**
   * The HTTP request that opened the connection (upgrade request, first poll, ...), for
   * `authenticate`. The handshake sets it to `undefined` once a session is attached: an idle
   * session kept the request and its headers (1 kB) for nothing.
   */
  request: IncomingMessage | undefined;
  /** Queues one text frame; silently dropped once the connection is closing. */
  send(text: string): void;
  /**
   * Set where a message may carry a batch of frames (WebSocket, SockJS): the largest message the
   * endpoint accepts, in bytes, announced as `welcome.b`. Absent where messages do not (long polling).
   */
  readonly maxMessageBytes?: number;
  /**
   * Set where it is not (long polling): the largest frame the endpoint accepts, in UTF-8 bytes,
   * announced as `welcome.f` so the client never sends a frame that would end its session (4413).
   */
  readonly maxFrameBytes?: number;
  /**
   * The client accepts batches (`hello.b`): from now on the frames sent in one tick go out as one
   * message of at most `maxChars` UTF-16 code units. Only where `maxMessageBytes` is set.
   */
  startBatching?(maxChars: number): void;
  /**
   * Ends the connection on purpose: sends a `close` frame, then closes the underlying connection
   * with the same code. Idempotent.
   */
  close(code: number, reason: string): void;
  /**
   * Closes the underlying connection with `code` without sending a `close` frame: the answer to
   * the peer's own `close` frame, after which nothing more may be sent. Idempotent.
   */
  closeTransport(code: number, reason: string): void;
  /** Drops the connection at once, no close handshake (dead peer). Idempotent. */
  terminate(): void;
}

/** What the endpoint calls. After `onClose` nothing fires. */
export interface ConnectionCallbacks {
  /** One inbound text frame. */
  onMessage(text: string): void;
  /** The endpoint rejected inbound data itself (binary frame, oversize): treated as a bad frame. */
  onProtocolError(error: ProtocolError): void;
  /** Exactly once, however the connection ended. */
  onClose(code: number, reason: string): void;
}

/** Implemented by the server; called by an endpoint for every new connection. */
export type ConnectionAcceptor = (connection: ServerConnection) => ConnectionCallbacks;

/** Cuts a reason to the 123 UTF-8 bytes of a close frame: the codec's one implementation. */
export { fitCloseReason as fitReason } from '../protocol/codec.js';

/** Codes a server may put on the wire (RFC 6455 §7.4: no 1004-1006, 1015; apps use 3000-4999). */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  );
}

/** The text of a `close` frame, shared by every endpoint's `close()`. */
export function closeFrameText(code: number, reason: string): string {
  return encodeFrame({ type: 'close', code, reason }); // encodeFrame fits the reason
}
