/**
 * The one close-code table. Every close, whether it arrives as a WebSocket close, a `close` frame,
 * an HTTP status on the long-polling endpoint or a local failure, maps onto one of these codes, and
 * this table alone decides whether the client retries.
 *
 * Each code is also a plain constant: bundlers inline those, where `CloseCode.X` stays a property
 * lookup by name in every minified use. Library code uses the constants; `CloseCode` is the table
 * applications import.
 */

/** The codes of `CloseCode` below, where each is documented. */
export const NORMAL = 1000;
export const GOING_AWAY = 1001;
export const ABNORMAL = 1006;
export const INTERNAL_ERROR = 1011;
export const SERVICE_RESTART = 1012;
export const TRY_AGAIN_LATER = 1013;
export const HEARTBEAT_TIMEOUT = 4000;
export const CONNECT_TIMEOUT = 4001;
export const HANDSHAKE_TIMEOUT = 4008;
export const PROTOCOL_ERROR = 4400;
export const UNAUTHORIZED = 4401;
export const FORBIDDEN = 4403;
export const UNKNOWN_CONNECTION = 4404;
export const FRAME_TOO_LARGE = 4413;
export const UNSUPPORTED_VERSION = 4426;
export const TOO_MANY_REQUESTS = 4429;
export const SLOW_CONSUMER = 4508;

/** The close-code table by name (PROTOCOL.md, "Close codes"). */
export const CloseCode = {
  /** The client (or the server, for this session only) ended the connection on purpose. */
  Normal: NORMAL,
  /** The server is shutting down or restarting. */
  GoingAway: GOING_AWAY,
  /** The link dropped without a close handshake (network error, process killed). */
  Abnormal: ABNORMAL,
  /** The server hit an unexpected condition. */
  InternalError: INTERNAL_ERROR,
  /** The server is restarting. */
  ServiceRestart: SERVICE_RESTART,
  /** The server is overloaded; come back later. */
  TryAgainLater: TRY_AGAIN_LATER,
  /** No frame arrived within the heartbeat deadline. */
  HeartbeatTimeout: HEARTBEAT_TIMEOUT,
  /** The transport opened but the handshake did not complete in time. */
  ConnectTimeout: CONNECT_TIMEOUT,
  /** The handshake (a valid `hello`, authentication, `welcome`) did not complete within the server's timeout. */
  HandshakeTimeout: HANDSHAKE_TIMEOUT,
  /** A frame was malformed, of an unknown type, out of place, or used a reserved event name. */
  ProtocolError: PROTOCOL_ERROR,
  /** The credentials were missing or rejected. */
  Unauthorized: UNAUTHORIZED,
  /** Not allowed here: an origin the server refuses. */
  Forbidden: FORBIDDEN,
  /** The long-polling connection id is unknown (expired or never existed). */
  UnknownConnection: UNKNOWN_CONNECTION,
  /** A frame or request body exceeded the size limit. */
  FrameTooLarge: FRAME_TOO_LARGE,
  /** The client speaks a protocol version the server does not. */
  UnsupportedVersion: UNSUPPORTED_VERSION,
  /** Too many sessions or requests; retry later with backoff. */
  TooManyRequests: TOO_MANY_REQUESTS,
  /** The session's outgoing buffer overflowed (slow consumer); the session cannot be resumed. */
  SlowConsumer: SLOW_CONSUMER,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

/**
 * Whether the client should reconnect after a close with this code: all but the codes after which
 * reconnecting would only repeat the failure. Unknown codes are retried: a server that invents a
 * code should not be able to strand clients by accident.
 */
export function isRetryable(code: number): boolean {
  return ![NORMAL, UNAUTHORIZED, FORBIDDEN, UNSUPPORTED_VERSION].includes(code);
}

/**
 * Long polling: HTTP status → close code (PROTOCOL.md, "Long polling"). The 4xx statuses with a
 * close code of their own have it at 4000 + status (401 → 4401 ...); 410 is 4404, like 404; 503 is
 * 1013; other 5xx are 1011, anything else 4400.
 */
export function closeCodeForHttpStatus(status: number): number {
  if (status === 410) return UNKNOWN_CONNECTION;
  if (status === 503) return TRY_AGAIN_LATER;
  if ([401, 403, 404, 413, 426, 429].includes(status)) return 4000 + status;
  return status >= 500 ? INTERNAL_ERROR : PROTOCOL_ERROR;
}
