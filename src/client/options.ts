import { InvalidArgumentError, inRange, oneOf, withMethods } from '../errors/invalid-argument.js';
import type {
  TransportFactory,
  TransportName,
  SockJSConstructor,
  WebSocketConstructor,
} from '../transports/transport.js';
import type { Clock } from '../util/clock.js';
import { MAX_DELAY_MS, systemClock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { guarded, silentLogger } from '../util/logger.js';
import type { WebStorage } from '../storage/dom-types.js';
import { parseMainUrl } from '../transports/urls.js';
import type { SessionStore } from '../storage/store.js';
import type { LifecycleEnvironment } from './lifecycle.js';
import { exponentialBackoff, type BackoffOptions, type RetryPolicy } from './retry.js';

/** Reconnection settings: backoff parameters, or your own policy. */
export interface ReconnectOptions extends BackoffOptions {
  /**
   * A connection must stay open this long before the attempt counter starts again at 1, so a
   * server that accepts and then drops at once still sees growing delays.
   * @default 5000
   */
  minUptimeMs?: number;
  /** Replaces the backoff: return the delay before the next attempt, or `null` to stop. */
  policy?: RetryPolicy;
}

/** Heartbeat settings. The worst-case time to notice a silent link is `intervalMs + timeoutMs`. */
export interface HeartbeatOptions {
  /**
   * Send a ping after this long without any inbound frame (the client uses the server's
   * interval instead when that is shorter).
   * @default 20000
   */
  intervalMs?: number;
  /**
   * Declare the link dead when a ping stays unanswered this long.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Raw mode only: the text sent after `intervalMs` of silence. Any inbound text answers it (raw
   * servers have no pong), and none within `timeoutMs` means the link is dead.
   * @default '' (no heartbeat in raw mode)
   */
  message?: string;
}

/**
 * Options of {@link RealtimeClient}. Every field is optional.
 * @example
 * new RealtimeClient(url, { auth: () => getToken(), reconnect: { maxAttempts: 10 } });
 */
export interface ClientOptions {
  /**
   * Transports in order of preference; unsupported ones are skipped.
   * @default ['websocket', 'sockjs', 'longpoll']
   */
  transports?: readonly (TransportName | TransportFactory)[];
  /** Endpoint URLs per transport; by default derived from the main URL (see README). */
  urls?: Partial<Record<TransportName, string>>;
  /**
   * `'surelink'` speaks PROTOCOL.md; `'raw'` sends and receives plain text for any WebSocket or
   * SockJS server (events become `message`, `send(text)` sends the text as is, and only text; long
   * polling, which is surelink's own wire, is skipped; the server's normal close, 1000, is retried
   * like any drop).
   * @default 'surelink'
   */
  protocol?: 'surelink' | 'raw';
  /** Reconnection; `false` disables it. @default exponential backoff 1 s → 30 s, factor 2, full jitter */
  reconnect?: ReconnectOptions | false;
  /** Heartbeat; `false` disables it. @default { intervalMs: 20000, timeoutMs: 10000 } */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Time one transport gets to open and complete the handshake before it counts as failed (a
   * WebSocket that opens but never answers, as some proxies do, fails here). An `auth` function
   * gets as long again before the first transport is tried, and a session store's `load` or `save`
   * as long before it is given up on (the client then goes on without it). On a slow link (about 1 s
   * of round trip or more) every transport would run out of time: after an attempt in which none
   * connected and one timed out, the client gives each twice as long, up to 30 s; once one connects,
   * later attempts get twice what its handshake took (never less than this).
   * @default 3500
   */
  connectTimeoutMs?: number;
  /**
   * A token, or a function called on every connect (so an expired token is refreshed). Sent in the first frame, never
   * in the URL. A function that throws, rejects or returns anything but a string or `undefined` fails the attempt
   * with an `AuthError` (retried).
   */
  auth?: string | (() => string | undefined | Promise<string | undefined>);
  /** Connect as soon as the client is created. @default true */
  autoConnect?: boolean;
  /** Browser events to watch (online/offline, visibility, bfcache, freeze); `false` ignores them. @default globalThis */
  lifecycle?: LifecycleEnvironment | false;
  /** WebSocket implementation (Node 20 has none: pass `ws`). @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation for long polling. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** SockJS constructor. @default window.SockJS, else a lazy import of sockjs-client */
  SockJS?: SockJSConstructor;
  /** Time source, for tests. @default Date.now and globalThis timers */
  clock?: Clock;
  /** Diagnostics sink; a call that throws is ignored. @default silent */
  logger?: Logger;
  /** Offline queue bounds, expiry and persistence. */
  queue?: QueueOptions;
  /**
   * Remember the transport that worked (in localStorage, with an expiry) so the next page load on
   * the same network starts with it; `false` always starts with the configured order.
   * @default { ttlMs: 86400000 } (one day)
   */
  rememberTransport?: { ttlMs?: number; storage?: WebStorage } | false;
  /**
   * While on a fallback, try the transports ahead of it in the order again in the background and move
   * the session over without losing or duplicating a message; `false` stays on the fallback, as raw mode always does.
   * @default { initialDelayMs: 10000, maxDelayMs: 300000 }
   */
  upgrade?: { initialDelayMs?: number; maxDelayMs?: number } | false;
}

/** The offline send queue: bounds, expiry and persistence. */
export interface QueueOptions {
  /** Messages held while disconnected; `0` disables queueing (`send` returns `'dropped'` while disconnected). @default 1000 */
  maxMessages?: number;
  /** Size bound of the messages queued while disconnected, in characters of their JSON. @default 1048576 */
  maxBytes?: number;
  /** What to drop when full (`'error'` makes `send` throw `QueueFullError`). @default 'drop-oldest' */
  overflow?: 'drop-oldest' | 'drop-newest' | 'error';
  /**
   * A queued message not sent within this many ms of its `send()` is dropped (`queue:expired`), offline
   * too, one restored from `storage` after a reload included (counted from its first page's `send()`).
   * @default undefined (never)
   */
  ttlMs?: number;
  /**
   * Keeps the session (resume token, queued and unacknowledged messages) across page reloads:
   * `webStorageStore()`, `indexedDBStore()` or your own `SessionStore`. @default undefined (memory only)
   */
  storage?: SessionStore;
  /** Key of this client's session in `storage`; give each client of a page its own. @default 'surelink:' + url */
  storageKey?: string;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  readonly transports: readonly (TransportName | TransportFactory)[];
  readonly urls: Partial<Record<TransportName, string>>;
  readonly protocol: 'surelink' | 'raw';
  /** The retry policy (the user's, or backoff from their numbers) and the uptime that resets it. */
  readonly reconnect: { readonly policy: RetryPolicy; readonly minUptimeMs: number } | false;
  readonly heartbeat: { readonly intervalMs: number; readonly timeoutMs: number; readonly message: string } | false;
  readonly connectTimeoutMs: number;
  readonly auth: string | (() => string | undefined | Promise<string | undefined>) | undefined;
  readonly autoConnect: boolean;
  readonly lifecycle: LifecycleEnvironment | false | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly queue: {
    readonly maxMessages: number;
    readonly maxBytes: number;
    readonly overflow: 'drop-oldest' | 'drop-newest' | 'error';
    readonly ttlMs: number | undefined;
    readonly storage: SessionStore | undefined;
    readonly storageKey: string | undefined;
  };
  readonly rememberTransport: { readonly ttlMs: number; readonly storage: Storage | undefined } | false;
  readonly upgrade: { readonly initialDelayMs: number; readonly maxDelayMs: number } | false;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly fetch: typeof globalThis.fetch | undefined;
  readonly SockJS: SockJSConstructor | undefined;
}

const freeze = Object.freeze;

const NAMES = freeze(['websocket', 'sockjs', 'longpoll'] as const);

/** How each option that needs more than a copy is checked and normalised (`{}` gives the defaults). */
const checks = {
  transports: sharedList,
  // Else a misspelt transport (longPoll) was ignored, and a value that is no URL went to the transport as is.
  urls: (u) => {
    for (const k in u) parseMainUrl(u[oneOf('options.urls', k as TransportName, NAMES)] as string, `options.urls.${k}`);
    return u;
  },
  // The app's logger may throw (fail-on-console in tests): never into a transition or a socket callback.
  logger: guarded,
  protocol: (p) => oneOf('options.protocol', p, ['surelink', 'raw']),
  reconnect: (re) =>
    re && {
      // Not a function: else the first drop closed the client for good ('reconnect.policy threw').
      policy: re.policy ? withMethods('options.reconnect', re, ['policy']) && re.policy : exponentialBackoff(re),
      ...numbers('reconnect', re, { minUptimeMs: 5000 }),
    },
  heartbeat: (h) =>
    h && { ...numbers('heartbeat', h, { intervalMs: 20_000, timeoutMs: 10_000 }, true), message: h.message ?? '' },
  connectTimeoutMs: (t) => ms('connectTimeoutMs', t, true),
  auth: (auth) => {
    if (typeof auth !== 'string' && typeof auth !== 'function')
      throw new InvalidArgumentError('options.auth must be a string or a function');
    return auth;
  },
  queue: (q) => ({
    ...numbers('queue', q, { maxMessages: 1000, maxBytes: 1 << 20 }),
    overflow: oneOf('options.queue.overflow', q.overflow ?? 'drop-oldest', ['drop-oldest', 'drop-newest', 'error']),
    ttlMs: q.ttlMs === undefined ? undefined : ms('queue.ttlMs', q.ttlMs, true),
    // Else a missing method threw inside, into the (silent by default) logger, and the session silently stayed in memory.
    storage: q.storage && withMethods('options.queue.storage', q.storage, ['load', 'save', 'remove']),
    storageKey: q.storageKey,
  }),
  rememberTransport: (rt) => rt && { ...numbers('rememberTransport', rt, { ttlMs: 86_400_000 }), storage: rt.storage },
  upgrade: (up) => up && numbers('upgrade', up, { initialDelayMs: 10_000, maxDelayMs: 300_000 }, true),
} satisfies { readonly [K in keyof ClientOptions]?: (value: NonNullable<ClientOptions[K]>) => ResolvedOptions[K] };

/**
 * Every default, shared by all clients: a client's resolved options inherit from it and hold only
 * what the user set, so an idle client does not carry its own copy of the defaults.
 */
const DEFAULTS: ResolvedOptions = {
  transports: NAMES,
  urls: freeze({}),
  protocol: 'surelink',
  reconnect: freeze(checks.reconnect({})),
  heartbeat: freeze(checks.heartbeat({})),
  connectTimeoutMs: 3500,
  auth: undefined,
  autoConnect: true,
  lifecycle: undefined,
  clock: systemClock,
  logger: silentLogger,
  queue: freeze(checks.queue({})),
  rememberTransport: freeze(checks.rememberTransport({})),
  upgrade: freeze(checks.upgrade({})),
  WebSocket: undefined,
  fetch: undefined,
  SockJS: undefined,
};

/** The last options resolved: clients configured alike one after the other share one object. */
let previous: Record<string, unknown> | undefined;

export function resolveOptions(o: ClientOptions = {}): ResolvedOptions {
  const resolved = Object.create(DEFAULTS) as Record<string, unknown>;
  for (const key of Object.keys(DEFAULTS) as (keyof ClientOptions)[]) {
    const value = o[key];
    const check = (checks as { [key: string]: ((value: unknown) => unknown) | undefined })[key];
    if (value === undefined) continue;
    // Where an object goes (or `false`): a number, `true` or a string would silently give the defaults.
    // The transport list says what it needs itself.
    if (typeof DEFAULTS[key] == 'object' && key !== 'transports' && value !== false && Object(value) !== value)
      throw new InvalidArgumentError(`options.${key} must be an object`);
    resolved[key] = check ? check(value) : value;
  }
  const keys = Object.keys(resolved);
  if (!(previous && keys.length === Object.keys(previous).length && keys.every((k) => resolved[k] === previous?.[k])))
    previous = freeze(resolved);
  return previous as unknown as ResolvedOptions;
}

/** Lists of transport names, one shared copy per distinct list: clients configured alike share it. */
const lists = new Map<string, readonly TransportName[]>();

function sharedList(
  list: readonly (TransportName | TransportFactory)[],
): readonly (TransportName | TransportFactory)[] {
  if (!Array.isArray(list) || list.length === 0)
    throw new InvalidArgumentError('options.transports must list at least one transport');
  if (!list.every((t) => typeof t === 'string')) return list;
  const key = list.join();
  const shared = lists.get(key) ?? freeze([...(list as readonly TransportName[])]);
  if (lists.size < 32) lists.set(key, shared);
  return shared;
}

/** A non-negative finite number; with `timer`, a duration a timer will wait (above 0, at most ~24.8 days). */
function ms(name: string, value: number, timer = false): number {
  return inRange(`options.${name}`, value, 0, timer ? MAX_DELAY_MS : Number.MAX_SAFE_INTEGER, timer);
}

/** The numeric fields of `o` listed in `defaults`, each checked with `ms` (the default when unset). */
function numbers<K extends string>(
  prefix: string,
  o: { readonly [F in NoInfer<K>]?: number | undefined },
  defaults: Record<K, number>,
  timer?: boolean,
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k in defaults) out[k] = ms(`${prefix}.${k}`, o[k] ?? defaults[k], timer);
  return out;
}
