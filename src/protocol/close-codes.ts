/**
 * The one close-code table. Every close, whether it arrives as a WebSocket close, a `close` frame,
 * an HTTP status on the long-polling endpoint or a local failure, maps onto one of these codes, and
 * this table alone decides whether the client retries.
 */
export const CloseCode = {
  /** The client (or the server, for this session only) ended the connection on purpose. */
  Normal: 1000,
  /** The server is shutting down or restarting. */
  GoingAway: 1001,
  /** The link dropped without a close handshake (network error, process killed). */
  Abnormal: 1006,
  /** The server hit an unexpected condition. */
  InternalError: 1011,
  /** The server is restarting. */
  ServiceRestart: 1012,
  /** The server is overloaded; come back later. */
  TryAgainLater: 1013,
  /** No frame arrived within the heartbeat deadline. */
  HeartbeatTimeout: 4000,
  /** The transport opened but the handshake did not complete in time. */
  ConnectTimeout: 4001,
  /** The server did not receive `hello` in time. */
  HandshakeTimeout: 4008,
  /** A frame was malformed, of an unknown type, out of place, or used a reserved event name. */
  ProtocolError: 4400,
  /** The credentials were missing or rejected. */
  Unauthorized: 4401,
  /** The credentials are valid but not allowed here (origin, identity mismatch on resume). */
  Forbidden: 4403,
  /** The long-polling connection id is unknown (expired or never existed). */
  UnknownConnection: 4404,
  /** A frame or request body exceeded the size limit. */
  FrameTooLarge: 4413,
  /** The client speaks a protocol version the server does not. */
  UnsupportedVersion: 4426,
  /** Too many sessions or requests; retry later with backoff. */
  TooManyRequests: 4429,
  /** The session's outgoing buffer overflowed (slow consumer); the session cannot be resumed. */
  SlowConsumer: 4508,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

/** Codes after which reconnecting would only repeat the failure: the client stops. */
const fatal: ReadonlySet<number> = new Set([
  CloseCode.Normal,
  CloseCode.Unauthorized,
  CloseCode.Forbidden,
  CloseCode.UnsupportedVersion,
]);

/**
 * Whether the client should reconnect after a close with this code. Unknown codes are retried:
 * a server that invents a code should not be able to strand clients by accident.
 */
export function isRetryable(code: number): boolean {
  return !fatal.has(code);
}

/** Long polling: the close codes of the HTTP statuses that have their own (PROTOCOL.md, "Long polling"). */
const byStatus: Readonly<Record<number, number>> = {
  400: CloseCode.ProtocolError,
  401: CloseCode.Unauthorized,
  403: CloseCode.Forbidden,
  404: CloseCode.UnknownConnection,
  410: CloseCode.UnknownConnection,
  413: CloseCode.FrameTooLarge,
  426: CloseCode.UnsupportedVersion,
  429: CloseCode.TooManyRequests,
  503: CloseCode.TryAgainLater,
};

/** Long polling: HTTP status → close code; other 5xx are 1011, anything else 4400. */
export function closeCodeForHttpStatus(status: number): number {
  return byStatus[status] ?? (status >= 500 ? CloseCode.InternalError : CloseCode.ProtocolError);
}
