/**
 * The server: owns the options, the session registry, request handlers and endpoints, and admits
 * connections to sessions. Glue only; the protocol work is in handshake.ts and session.ts.
 */
import type { IncomingMessage, Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { HelloFrame } from '../protocol/frames.js';
import type { Clock } from '../util/clock.js';
import type { ConnectionCallbacks, ServerConnection } from './connection.js';
import { assertServerEventName } from './event-names.js';
import { attachLongPollEndpoint } from './endpoints/longpoll.js';
import { attachSockJSEndpoint } from './endpoints/sockjs.js';
import { attachWebSocketEndpoint } from './endpoints/websocket.js';
import type { Endpoint } from './endpoints/websocket.js';
import { ConnectionLink } from './handshake.js';
import type { Admission, HandshakeHost } from './handshake.js';
import { Listeners, toError } from './listeners.js';
import { assertBroadcastFits } from './outgoing.js';
import type { Listener } from './listeners.js';
import { resolveOptions } from './options.js';
import type { RealtimeServerOptions, ResolvedOptions } from './options.js';
import { RequestHandlers } from './requests.js';
import { Session } from './session.js';
import type { SessionHost } from './session.js';
import { SessionRegistry, randomId, randomResumeToken } from './session-registry.js';
import type { RealtimeServer, RequestHandler } from './types.js';

/** How long `close()` waits for peers to finish the close handshake before terminating them. */
const SHUTDOWN_WAIT_MS = 2_000;

type SessionOf<CE extends object, SE extends object, Id> = Session<CE, SE, Id>;

/**
 * The paths (trailing slashes removed, as endpoints match them) each http.Server has a live server
 * on. Two on one path split its transports (WebSocket and SockJS reached the first, long polling
 * the second), so a client that moved between them lost its session: the second one throws.
 */
const attached = new WeakMap<Server, Set<string>>();

export class RealtimeServerImpl<CE extends object, SE extends object, Id> implements RealtimeServer<CE, SE, Id> {
  readonly #clock: Clock;
  readonly #options: ResolvedOptions<Id>;
  readonly #registry: SessionRegistry<SessionOf<CE, SE, Id>>;
  readonly #requests = new RequestHandlers<SessionOf<CE, SE, Id>>();
  readonly #listeners: Listeners;
  readonly #links = new Map<ServerConnection, ConnectionLink<SessionOf<CE, SE, Id>>>();
  readonly #endpoints: Endpoint[];
  readonly #sessionHost: SessionHost<SessionOf<CE, SE, Id>>;
  readonly #handshakeHost: HandshakeHost<SessionOf<CE, SE, Id>>;
  /** Links whose handshake is under way: bounded by `maxHandshakes`. */
  #handshakes = 0;
  #closing: Promise<void> | null = null;
  readonly #pathKey: string;
  #onDrained: (() => void) | null = null;

  constructor(options: RealtimeServerOptions<Id>) {
    const o = (this.#options = resolveOptions(options));
    const paths = attached.get(o.server) ?? new Set<string>();
    this.#pathKey = o.path.replace(/\/+$/, '') || '/';
    if (paths.has(this.#pathKey))
      throw new InvalidArgumentError(
        `createRealtimeServer: this http server already serves ${this.#pathKey}; close() that one first`,
      );
    this.#clock = o.clock;
    this.#registry = new SessionRegistry(this.#clock);
    this.#listeners = new Listeners((error, event) => {
      // A throwing 'error' listener is only logged, or it would feed itself.
      if (event === 'error') o.logger.error('surelink: server "error" listener threw', error);
      else this.#reportError(error, `server "${event}" listener`);
    });
    const common = {
      clock: this.#clock,
      logger: o.logger,
      maxFrameBytes: o.maxFrameBytes,
      reportError: (e: unknown, c: string) => this.#reportError(e, c),
    };
    this.#sessionHost = {
      ...common,
      heartbeat: o.heartbeat,
      maxBufferedFrames: o.maxBufferedFrames,
      requestRateLimit: o.requestRateLimit,
      maxPendingRequests: o.maxPendingRequests,
      runRequest: (name, data, session) => this.#requests.run(name, data, session),
      disconnected: (session) => this.#startGrace(session),
      ended: (session) => this.#registry.remove(session),
    };
    this.#handshakeHost = {
      ...common,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      // No `await` here: suspended on an `authenticate` that never settles, this function kept
      // `connection` (and through it the request and socket) for as long as the promise lived.
      // The request is only dropped once the handshake is over (ServerConnection.request).
      authenticate: async (token, connection) => o.authenticate(token, connection.request as IncomingMessage),
      admit: (hello, identity, connection, resumeOnly) => this.#admit(hello, identity, connection, resumeOnly),
      released: (connection) => this.#released(connection),
      handshakeEnded: () => this.#handshakes--,
    };
    const { server, path, maxFrameBytes, maxSendBufferBytes, allowOrigin, logger } = o;
    const endpoint = { server, path, maxFrameBytes, maxSendBufferBytes, allowOrigin, logger };
    this.#endpoints = [
      attachWebSocketEndpoint({ ...endpoint, accept: (c) => this.#accept(c) }),
      attachSockJSEndpoint({ ...endpoint, accept: (c) => this.#accept(c) }),
      attachLongPollEndpoint({
        ...endpoint,
        accept: (c) => this.#accept(c),
        admitsHandshake: () => this.#handshakes < o.maxHandshakes,
        ...o.longPoll,
        clock: this.#clock,
      }),
    ];
    attached.set(o.server, paths.add(this.#pathKey));
  }

  get sessions(): ReadonlyMap<string, SessionOf<CE, SE, Id>> {
    return this.#registry.byId;
  }

  on(event: 'connection' | 'error', handler: Listener): () => void {
    if (event !== 'connection' && event !== 'error')
      throw new InvalidArgumentError(`server.on: unknown event ${JSON.stringify(event)}`);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`server.on("${event}"): handler is not a function`);
    return this.#listeners.on(event, handler);
  }

  handle<K extends string>(event: K, handler: RequestHandler<CE, SE, Id>): () => void {
    return this.#requests.register(event, handler);
  }

  broadcast(event: string, data?: unknown): void {
    assertServerEventName(event);
    let json: string | undefined;
    try {
      // Once, not once per session: JSON.stringify (and any toJSON) would otherwise run N times.
      // `?? 'null'`: what a function or a toJSON returning undefined becomes inside send's array.
      json = data === undefined ? undefined : (JSON.stringify(data) ?? 'null');
    } catch (cause) {
      throw new InvalidArgumentError(`broadcast("${event}"): data cannot be encoded as JSON`, { cause });
    }
    assertBroadcastFits(event, json);
    for (const session of this.#registry.all()) session.sendJson(event, json);
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    attached.get(this.#options.server)?.delete(this.#pathKey);
    for (const endpoint of this.#endpoints) endpoint.close();
    this.#closing = this.#drain().then(() => this.#listeners.clear());
    for (const session of this.#registry.all()) session.close(CloseCode.GoingAway, 'server shutting down');
    for (const link of [...this.#links.values()])
      if (link.handshaking) link.refuse(CloseCode.GoingAway, 'server shutting down');
    return this.#closing;
  }

  #accept(connection: ServerConnection): ConnectionCallbacks {
    const link = new ConnectionLink(connection, this.#handshakeHost);
    this.#links.set(connection, link);
    this.#handshakes++;
    if (this.#closing) link.refuse(CloseCode.GoingAway, 'server shutting down');
    // Refused like a session over `maxSessions`: the client backs off and retries.
    else if (this.#handshakes > this.#options.maxHandshakes)
      link.refuse(CloseCode.TooManyRequests, 'too many connections in their handshake');
    return link;
  }

  #admit(
    hello: HelloFrame,
    identity: unknown,
    connection: ServerConnection,
    resumeOnly: boolean,
  ): Admission<SessionOf<CE, SE, Id>> {
    if (this.#closing) return { ok: false, code: CloseCode.GoingAway, reason: 'server shutting down' };
    const existing = hello.resume === undefined ? undefined : this.#registry.byResumeToken(hello.resume);
    // Another identity's token is treated as unknown: a new session, the token's own left to its
    // owner. No refusal that would tell a guesser the token is live, and a client whose identity
    // changed (a new account on the page) carries on, told by `resumed: false`.
    if (existing && isDeepStrictEqual(identity, existing.identity)) return this.#resume(existing, hello, connection);
    if (resumeOnly) return { ok: false, code: CloseCode.Normal, reason: 'nothing to resume' };
    if (this.#registry.size >= this.#options.maxSessions)
      return { ok: false, code: CloseCode.TooManyRequests, reason: 'too many sessions' };
    const session = new Session<CE, SE, Id>(randomId(), randomResumeToken(), identity as Id, this.#sessionHost);
    this.#registry.add(session);
    session.attach(connection, 0, false, hello.b);
    this.#listeners.emit('connection', session);
    return { ok: true, session };
  }

  #resume(
    session: SessionOf<CE, SE, Id>,
    hello: HelloFrame,
    connection: ServerConnection,
  ): Admission<SessionOf<CE, SE, Id>> {
    if (hello.ack > session.lastSeq) {
      return {
        ok: false,
        code: CloseCode.ProtocolError,
        reason: `hello.ack ${hello.ack} is beyond the last frame sent (${session.lastSeq})`,
      };
    }
    this.#registry.cancelGrace(session);
    session.attach(connection, hello.ack, true, hello.b);
    return { ok: true, session };
  }

  #startGrace(session: SessionOf<CE, SE, Id>): void {
    const graceMs = this.#options.sessionGraceMs;
    if (graceMs === 0) session.expire();
    else this.#registry.startGrace(session, graceMs, () => session.expire());
  }

  #released(connection: ServerConnection): void {
    this.#links.delete(connection);
    if (this.#links.size === 0) this.#onDrained?.();
  }

  #reportError(error: unknown, context: string): void {
    this.#options.logger.error(`surelink: ${context} threw`, error);
    this.#listeners.emit('error', toError(error));
  }

  /** Resolves once every connection reported its close; stragglers are terminated after a while. */
  #drain(): Promise<void> {
    if (this.#links.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        for (const connection of this.#links.keys()) connection.terminate();
      }, SHUTDOWN_WAIT_MS);
      this.#onDrained = () => {
        this.#onDrained = null;
        this.#clock.clearTimeout(timer);
        resolve();
      };
    });
  }
}
