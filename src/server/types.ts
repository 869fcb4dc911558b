/** Public shapes of `surelink/server`. */
import type { ServerTransportName } from './connection.js';
import type { SessionLifecycleEvent } from './event-names.js';

/** Payload of a session's `disconnect`: the connection dropped; the session waits for a resume. */
export interface DisconnectInfo {
  readonly code: number;
  readonly reason: string;
}

/** Payload of a session's `resume`: a new connection took the session over. */
export interface ResumeInfo {
  readonly transport: ServerTransportName;
}

/**
 * Payload of a session's `end`: the session is gone for good. `code` is the close code sent to
 * the client, or the one its client sent (1000, or 4400/4413 after refusing a frame), or for a
 * session whose grace period ran out, the code of the connection loss that started it (with reason
 * `'session expired'`).
 */
export interface EndInfo {
  readonly code: number;
  readonly reason: string;
}

/** The data argument of `send`/`broadcast`: optional where the payload may be absent (`void`, `undefined`). */
type DataArg<T> = undefined extends T ? [data?: T] : [data: T];

/** Client event names a session can subscribe to (lifecycle names excluded). */
export type ClientEventName<CE> = Exclude<keyof CE & string, SessionLifecycleEvent>;

/** One client session. It outlives connections: a dropped client may resume it within the grace period. */
export interface ServerSession<
  ClientEvents extends object = Record<string, unknown>,
  ServerEvents extends object = Record<string, unknown>,
  Identity = unknown,
> {
  /** Random session id (also `welcome.sid`); the key in `server.sessions`. */
  readonly id: string;
  /** What `authenticate` returned for this client. */
  readonly identity: Identity;
  /** The current connection's transport, `null` while waiting for a resume. */
  readonly transport: ServerTransportName | null;
  readonly connected: boolean;
  /** The connection dropped; the session waits `sessionGraceMs` for a resume. */
  on(event: 'disconnect', handler: (info: DisconnectInfo) => void): () => void;
  /** A new connection resumed the session; unacknowledged frames were re-sent. */
  on(event: 'resume', handler: (info: ResumeInfo) => void): () => void;
  /**
   * The session ended for good (closed, expired, overflowed, protocol error, server close). Added
   * after that, it is still called, in a microtask; listeners of other events added then never are.
   */
  on(event: 'end', handler: (info: EndInfo) => void): () => void;
  /** A client event, delivered exactly once and in order, also across resumes. */
  on<K extends ClientEventName<ClientEvents>>(event: K, handler: (data: ClientEvents[K]) => void): () => void;
  /**
   * Sends an event. Sequenced and kept until the client acknowledges it, so it survives a drop
   * within the grace period. A no-op once the session ended.
   * @throws InvalidArgumentError for a reserved or invalid name, data JSON cannot encode, or a frame
   * over the 1,048,576 UTF-16 code units a client accepts (it would end the session with 4413)
   */
  send<K extends keyof ServerEvents & string>(event: K, ...data: DataArg<ServerEvents[K]>): void;
  /**
   * Ends the session for good: the client gets a close frame with `code` and `reason` and cannot
   * resume. A session waiting for a resume has no connection to carry them: it ends at once, and
   * its client, when it comes back, gets a new session (`resumed: false`) and never sees `code`;
   * refuse in `authenticate` whom it must not readmit. Idempotent.
   * @param code 1000, another code RFC 6455 lets a server send (1001-1003, 1007-1014), or an
   * application code (3000-4999); any other throws `InvalidArgumentError` @default 1000
   */
  close(code?: number, reason?: string): void;
}

/** Handles one request name; the resolved value is the response data. */
export type RequestHandler<
  ClientEvents extends object = Record<string, unknown>,
  ServerEvents extends object = Record<string, unknown>,
  Identity = unknown,
> = (data: unknown, session: ServerSession<ClientEvents, ServerEvents, Identity>) => unknown;

/** The server attached to an http.Server; see {@link createRealtimeServer}. */
export interface RealtimeServer<
  ClientEvents extends object = Record<string, unknown>,
  ServerEvents extends object = Record<string, unknown>,
  Identity = unknown,
> {
  /** A new session (resumes do not fire this; see the session's `resume`). */
  on(event: 'connection', handler: (session: ServerSession<ClientEvents, ServerEvents, Identity>) => void): () => void;
  /** A user handler threw, or the server hit an unexpected failure. Never thrown at you. */
  on(event: 'error', handler: (error: Error) => void): () => void;
  /**
   * Registers the handler of one request name (one handler per name). What it returns (or
   * resolves to) is the response; a throw of an error with a string `code` becomes an `ok: false`
   * response with that `code` and its `message` (`'request handler failed'` if it has no
   * non-empty string one; Node's system errors excepted: `ENOENT` and the like name paths and hosts). Any other throw is a bug: the client gets `'HANDLER_ERROR'` with a
   * generic message (the real one may name internals) and the `error` event the error. Requests
   * nobody handles get `'NO_HANDLER'`. A response larger than a client accepts (1,048,576 UTF-16
   * code units) becomes `'HANDLER_ERROR'` too, and the `error` event says why.
   * Each request runs once, even when the client re-sends it after a resume.
   * @returns a function that removes the handler
   */
  handle<K extends string>(event: K, handler: RequestHandler<ClientEvents, ServerEvents, Identity>): () => void;
  /**
   * Sends an event to every live session (connected or waiting for resume). The data is encoded
   * once for all of them; data JSON cannot encode, or a frame larger than a client accepts, throws
   * `InvalidArgumentError`, sessions or not.
   */
  broadcast<K extends keyof ServerEvents & string>(event: K, ...data: DataArg<ServerEvents[K]>): void;
  /** Live sessions by id. */
  readonly sessions: ReadonlyMap<string, ServerSession<ClientEvents, ServerEvents, Identity>>;
  /**
   * Closes every connection with 1001, ends every session, removes the upgrade listener and
   * every timer. Resolves when the connections are closed. Leaves the http.Server running.
   * A polling SockJS client collects its close frame with its next request, so the SockJS prefix's
   * HTTP requests keep reaching `sockjs` until it forgot its last session (5 s after that request;
   * its own timers run until then). A server created on the same http server and path once
   * `close()` was called takes every transport's new connections at once.
   */
  close(): Promise<void>;
}
