import type { IncomingMessage, Server } from 'node:http';
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import type { HeartbeatSettings } from '../protocol/frames.js';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { guarded, silentLogger } from '../util/logger.js';
import { MIN_FRAME_BYTES, delay, objectOption, positive, shown, withMethods } from './option-checks.js';

/**
 * Decides who a connecting client is. Receives `hello.auth` (never read from the URL) and the
 * HTTP request that opened the connection. Return the identity to accept, `false` (or throw) to
 * reject with close code 4401.
 */
export type Authenticate<Identity> = (
  token: string | undefined,
  req: IncomingMessage,
) => Identity | false | Promise<Identity | false>;

/** Options of {@link createRealtimeServer}. Only `server` is required. */
export interface RealtimeServerOptions<Identity = unknown> {
  /**
   * The HTTP(S) server to attach to. Its other routes and upgrade listeners are left alone: the
   * endpoints go in front of its `request` and `upgrade` listeners, which then only see what they
   * leave (a catch-all 404, a `ws` server in server mode on another path), as sockjs's
   * `installHandlers` does. Listeners added later see every request, the endpoints' too: add yours
   * first; or, to see the endpoints' upgrades before they do (a gate, as a proxy would be), add it
   * after with `prependListener`. One server per `path`: another on the same server and path
   * throws until this one is closed.
   */
  server: Server;
  /**
   * Path of the endpoint, as clients request it: percent-encoded (`/real%20time`), without a query
   * or fragment; any other form throws. Upgrade requests for other paths are left to the http
   * server's other `upgrade` listeners; where there are none, they are answered 404.
   * @default '/realtime'
   */
  path?: string;
  /**
   * Called for every hello, including resumes. A resume is only accepted when the identity it
   * returns is deep-equal to the session's identity; another identity gets a new session
   * (`resumed: false`), as for an unknown token. Return a stable identity (a user id), not the
   * token's claims: a refreshed token with a new `exp` would not resume its session.
   * @default accept everyone with identity `undefined`
   */
  authenticate?: Authenticate<Identity>;
  /**
   * Server heartbeat, announced to clients in `welcome.hb`: a ping after `intervalMs` without any
   * inbound frame; the connection is terminated after `intervalMs + timeoutMs` of silence.
   * @default { intervalMs: 20000, timeoutMs: 10000 }
   */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
  /**
   * A connection that has not completed the handshake (valid hello, authentication, welcome)
   * within this time is closed with 4008.
   * @default 10000
   */
  handshakeTimeoutMs?: number;
  /**
   * Connections that may be in their handshake at once (connected, no `welcome` yet, or refused
   * and not yet gone), on all endpoints together. Each holds a socket and a timer for up to
   * `handshakeTimeoutMs` (a refused one up to as long again, while its close frame waits), so without
   * a bound a peer that opens connections and never says hello holds as many as it likes. One more
   * is refused like a session over `maxSessions`: a `close` frame 4429 on WebSocket and SockJS,
   * HTTP 429 to the long-polling opening POST; clients back off and retry. A real handshake lasts a
   * round trip plus `authenticate`: at 50 ms each, 1000 at once is 20,000 new connections a second.
   * @default 1000
   */
  maxHandshakes?: number;
  /**
   * Largest accepted inbound message in bytes, a frame or a batch of frames; larger ones close the
   * connection with 4413. It is announced as `welcome.b` on WebSocket and SockJS, and clients keep
   * their batches within it; on long polling as `welcome.f`, with `longPoll.maxBodyBytes`. The
   * surelink client refuses larger data at `send()` once it knows, so the session is not lost.
   * Messages above twice this size are cut off by `ws` itself while still arriving (close 1009).
   * At least 1024: a `hello` (about 80 bytes with a resume token) and its auth token must fit.
   * @default 1048576 (1 MiB)
   */
  maxFrameBytes?: number;
  /**
   * How long a session whose connection dropped waits for the client to resume it.
   * @default 120000
   */
  sessionGraceMs?: number;
  /**
   * Unacknowledged outgoing frames kept per session for replay. Overflow (a client that does not
   * keep up, or stays away) closes with 4508 and drops the session.
   * @default 10000
   */
  maxBufferedFrames?: number;
  /**
   * Sessions (connected or waiting for resume) the server keeps; new sessions beyond it are
   * refused with 4429. Resumes are always allowed.
   * @default 10000
   */
  maxSessions?: number;
  /**
   * Bytes a connection may hold that were written but not yet taken by the client: the
   * WebSocket's `bufferedAmount`, the characters of frames waiting for the next long poll, or on
   * SockJS the characters in the `sockjs` session's send buffer (a polling client between polls)
   * plus the bytes its socket has not sent. A client that stops reading (a slow consumer) is found
   * when the next message is due while the backlog is above this: the session ends with 4508, as
   * when `maxBufferedFrames` overflows. One frame larger than this still goes out on an empty
   * buffer, but keep it above the largest burst the server writes at once: a resume re-sends up to
   * `maxBufferedFrames` unacknowledged frames in one go.
   * @default 16777216 (16 MiB)
   */
  maxSendBufferBytes?: number;
  /**
   * Requests (`q` frames) a session may make: a token bucket refilled at `perSecond` that holds at
   * most `burst`. A request over the rate is not run; it gets an `ok: false` response with code
   * `'RATE_LIMITED'` and the connection stays open. `false` turns the limit off.
   * @default { perSecond: 100, burst: 200 }
   */
  requestRateLimit?: { perSecond?: number; burst?: number } | false;
  /**
   * Requests of one session whose handlers may run at once. One more is not run: it gets an
   * `ok: false` response with code `'BUSY'` at once, takes nothing from `requestRateLimit`, and
   * the connection stays open. Handlers that stall (a database that does not answer) then cost a
   * session this much at most, however long it stays.
   * @default 1000
   */
  maxPendingRequests?: number;
  /**
   * Origins allowed to open a connection (exact match on the `Origin` header), or a predicate.
   * Rejected upgrades get HTTP 403, which a browser's WebSocket reports as 1006 (retried): the
   * client stops on the 4403 of the fallback after it (SockJS refuses inside its session; long
   * polling's 403 names the origin in `Access-Control-Allow-Origin`, so the page can read it; see
   * `test/browser/origin-refused.test.ts`). An http(s) entry must be written as browsers send it
   * (`https://app.example.com`: lower case, no default port, path or trailing slash), or
   * `createRealtimeServer` throws: it would match no request. So does a `*` (no wildcards here: use
   * the predicate form). The list form lets requests without an `Origin` header through:
   * non-browser clients omit it (and could forge it anyway), and so does a browser's `<script>` or
   * `<iframe>` GET, which can open a SockJS session but not send to it (every send is checked).
   * Use the predicate form to refuse them too.
   * @default every origin is allowed
   */
  allowedOrigins?: readonly string[] | ((origin: string | undefined) => boolean);
  /** The long-polling endpoint, `${path}/poll` (PROTOCOL.md, "Long polling"). */
  longPoll?: LongPollOptions;
  /**
   * Where diagnostics go. A logger that throws is ignored for that call.
   * @default silent
   */
  logger?: Logger;
  /**
   * Time source of every server timer and timestamp: heartbeat, handshake and long-poll timeouts,
   * session grace, acks, the request rate limit, the wait of `close()`. For tests, which then move
   * time themselves instead of waiting for it. The timers inside `ws` and `sockjs` (the WebSocket
   * close handshake, SockJS's own heartbeat and disconnect delay) keep the system's.
   * @default Date.now and globalThis timers
   */
  clock?: Clock;
}

/** Settings of the long-polling endpoint. */
export interface LongPollOptions {
  /**
   * How long a poll (GET) with nothing to deliver is held before it is answered `[]`. A
   * connection whose client holds no poll and makes no request for `pollTimeoutMs + 10000` ms is
   * considered gone (close 1006; the session waits for a resume as usual).
   * @default 25000
   */
  pollTimeoutMs?: number;
  /**
   * Largest accepted POST body in bytes (a JSON array of frames, brackets and commas included).
   * A larger body gets HTTP 413 and closes the connection with 4413, like an oversize frame.
   * At least 1024, as `maxFrameBytes`.
   * @default maxFrameBytes
   */
  maxBodyBytes?: number;
}

/** A token bucket's settings: `perSecond` tokens a second, at most `burst` saved up. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Options with defaults applied and values checked. */
export interface ResolvedOptions<Identity> {
  readonly server: Server;
  readonly path: string;
  readonly authenticate: Authenticate<Identity>;
  readonly heartbeat: HeartbeatSettings;
  readonly handshakeTimeoutMs: number;
  readonly maxHandshakes: number;
  readonly maxFrameBytes: number;
  readonly sessionGraceMs: number;
  readonly maxBufferedFrames: number;
  readonly maxSessions: number;
  readonly maxSendBufferBytes: number;
  readonly requestRateLimit: RateLimit | false;
  readonly maxPendingRequests: number;
  readonly allowOrigin: (origin: string | undefined) => boolean;
  readonly longPoll: { readonly pollTimeoutMs: number; readonly maxBodyBytes: number };
  readonly logger: Logger;
  readonly clock: Clock;
}

export function resolveOptions<Identity>(options: RealtimeServerOptions<Identity>): ResolvedOptions<Identity> {
  if (typeof options?.server?.on !== 'function')
    throw new InvalidArgumentError('createRealtimeServer: `server` must be an http.Server');
  const path = options.path ?? '/realtime';
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new InvalidArgumentError(`createRealtimeServer: path must start with "/", got ${JSON.stringify(path)}`);
  // Compared with each request's path as clients send it: one in another form (a query, a space,
  // a non-ASCII letter, a `..`) matched no request, and every transport answered 404.
  const asSent = new URL(`http://h${path}`).pathname;
  if (asSent !== path)
    throw new InvalidArgumentError(
      `createRealtimeServer: path ${JSON.stringify(path)} is not a path as clients request it ` +
        `(percent-encoded, no query or fragment): write ${JSON.stringify(asSent)}`,
    );
  // Checked here, or every client would be refused 4401 with nothing said but an info log line.
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function')
    throw new InvalidArgumentError('createRealtimeServer: authenticate must be a function');
  const given = withMethods('logger', options.logger, ['debug', 'info', 'warn', 'error']);
  const logger = given ? guarded(given) : silentLogger;
  const heartbeat = objectOption('heartbeat', options.heartbeat);
  const longPoll = objectOption('longPoll', options.longPoll);
  const frameBytes = positive('maxFrameBytes', options.maxFrameBytes, 1 << 20, MIN_FRAME_BYTES);
  return {
    server: options.server,
    path,
    authenticate: options.authenticate ?? (() => undefined as Identity),
    heartbeat: {
      intervalMs: delay('heartbeat.intervalMs', heartbeat?.intervalMs, 20_000),
      timeoutMs: delay('heartbeat.timeoutMs', heartbeat?.timeoutMs, 10_000),
    },
    handshakeTimeoutMs: delay('handshakeTimeoutMs', options.handshakeTimeoutMs, 10_000),
    maxHandshakes: positive('maxHandshakes', options.maxHandshakes, 1000),
    maxFrameBytes: frameBytes,
    sessionGraceMs: delay('sessionGraceMs', options.sessionGraceMs, 120_000, 0),
    maxBufferedFrames: positive('maxBufferedFrames', options.maxBufferedFrames, 10_000),
    maxSessions: positive('maxSessions', options.maxSessions, 10_000),
    maxSendBufferBytes: positive('maxSendBufferBytes', options.maxSendBufferBytes, 16 << 20),
    requestRateLimit: rateLimit(options.requestRateLimit),
    maxPendingRequests: positive('maxPendingRequests', options.maxPendingRequests, 1000),
    allowOrigin: originPolicy(options.allowedOrigins, logger),
    longPoll: {
      pollTimeoutMs: delay('longPoll.pollTimeoutMs', longPoll?.pollTimeoutMs, 25_000),
      maxBodyBytes: positive('longPoll.maxBodyBytes', longPoll?.maxBodyBytes, frameBytes, MIN_FRAME_BYTES),
    },
    logger,
    clock: withMethods('clock', options.clock, ['now', 'setTimeout', 'clearTimeout']) ?? systemClock,
  };
}

/** Whether a request's `Origin` may connect; a predicate that throws refuses it (logged), on every endpoint. */
function originPolicy(
  allowed: RealtimeServerOptions['allowedOrigins'],
  logger: Logger,
): (origin: string | undefined) => boolean {
  if (allowed === undefined) return () => true;
  if (typeof allowed === 'function')
    return (origin) => {
      try {
        return allowed(origin) === true;
      } catch (error) {
        logger.error('surelink: allowedOrigins threw; refusing the request', error);
        return false;
      }
    };
  // A string would become a set of characters, and an entry no browser sends (a trailing slash, a
  // capital, a default port) would match nothing: every browser refused (403), nothing said.
  if (!Array.isArray(allowed))
    throw new InvalidArgumentError('createRealtimeServer: allowedOrigins must be an array of origins or a function');
  for (const entry of allowed as unknown[])
    if (!isOrigin(entry))
      throw new InvalidArgumentError(
        `createRealtimeServer: allowedOrigins: ${JSON.stringify(entry)} is not an origin as browsers send it ` +
          '(scheme://host[:port] in lower case, no default port, path, trailing slash or wildcard: pass a function)',
      );
  const set = new Set(allowed);
  return (origin) => origin === undefined || set.has(origin);
}

/** An `Origin` header value: http(s) ones exactly as a browser serialises them; other schemes as given. */
function isOrigin(entry: unknown): boolean {
  if (typeof entry !== 'string' || entry === '' || entry.includes('*')) return false;
  if (!/^https?:/i.test(entry)) return true;
  try {
    return new URL(entry).origin === entry;
  } catch {
    return false;
  }
}

function rateLimit(limit: RealtimeServerOptions['requestRateLimit']): RateLimit | false {
  if (limit === false) return false;
  const given = objectOption('requestRateLimit', limit);
  const perSecond = given?.perSecond ?? 100;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0)
    throw new InvalidArgumentError(
      `createRealtimeServer: requestRateLimit.perSecond must be a positive number, got ${shown(perSecond)}`,
    );
  return { perSecond, burst: positive('requestRateLimit.burst', given?.burst, 200) };
}
