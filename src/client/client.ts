import { AbortError } from '../errors/abort.js';
import { ClosedError } from '../errors/closed.js';
import { InvalidArgumentError, checkCallOptions } from '../errors/invalid-argument.js';
import { NotConnectedError } from '../errors/not-connected.js';
import { MAX_NAME_CHARS, isSendableByClient } from '../protocol/frames.js';
import type { TransportName } from '../transports/transport.js';
import { ClientCore } from './core.js';
import type {
  ClientEventsOf,
  ClientState,
  EventMap,
  LifecycleEvents,
  QueuedMessage,
  ValidEventMap,
  ValidSendMap,
} from './event-types.js';
import type { EventStream, StreamOptions, WaitForOptions } from './events.js';
import { resolveOptions, type ClientOptions } from './options.js';
import { toMessage, type SendResult } from './outgoing.js';
import { PingWaiters } from './pings.js';
import { PendingRequests, type RequestOptions } from './requests.js';

export type { SendResult };

type Name<S> = keyof ClientEventsOf<S> & string;

/**
 * The payload of `on(event)`: `ClientEventsOf<S>[K]`, with lifecycle names resolved apart from `S`
 * so that code generic in `S` (a helper taking any client) still sees their payloads.
 */
type Payload<S, K> = K extends keyof LifecycleEvents ? LifecycleEvents[K] : S[K & keyof S];

/** The emitter's map, as `on()` types it. */
type Events<S> = { [K in Name<S>]: Payload<S, K> };

/**
 * What `send(text)` takes: the names of `C` whose payload may be absent (`void`, `undefined`), so a
 * typo does not compile; any text without a `ClientEvents` map (raw mode, untyped clients), whose
 * default `EventMap` maps every string to `unknown`.
 */
type NoData<C> = { [K in keyof C]: undefined extends C[K] ? K : never }[keyof C] & string;

/**
 * A realtime connection that stays up: reconnects with backoff, detects dead links, queues while
 * offline and resumes its session so nothing is lost or duplicated.
 * @example
 * const client = new RealtimeClient<ServerEvents, ClientEvents>('wss://example.com/realtime');
 * client.on('chat', (m) => render(m));
 * client.send('chat', { text: 'hi' });
 */
export class RealtimeClient<S extends ValidEventMap<S> = EventMap, C extends ValidSendMap<C> = EventMap> {
  // Everything lives in the core (core.ts); this is the public API and its argument checks.
  readonly #c: ClientCore;

  constructor(url: string, options: ClientOptions = {}) {
    const c = (this.#c = new ClientCore(url, resolveOptions(options)));
    // Still idle: `close()` meanwhile (closed for good) or `connect()` (connecting) made it moot.
    if (c.options.autoConnect) queueMicrotask(() => c.state === 'idle' && c.connect());
  }

  /** Current state of the connection. */
  get state(): ClientState {
    return this.#c.state;
  }

  /** The transport of the open connection, else `null`. */
  get transport(): TransportName | null {
    return this.#c.transport;
  }

  /** Latest round-trip time in ms (from `ping()` or the heartbeat), if measured yet. */
  get rtt(): number | undefined {
    return this.#c.rtt;
  }

  /** Messages waiting in the offline queue. */
  get queued(): number {
    return this.#c.session.log.queued;
  }

  /** Starts connecting: needed with `autoConnect: false`, or to try again after a fatal close. */
  connect(): void {
    if (this.#c.disposed) throw new ClosedError('client was closed; create a new one');
    this.#c.connect();
  }

  // Prototype methods, not per-instance arrows: an idle client should cost little memory.
  /** Subscribes to a server or lifecycle event; returns the unsubscribe function. */
  on<K extends Name<S>>(event: K, handler: (payload: Payload<S, K>) => void): () => void {
    return this.#c.events<Events<S>>().on(event, handler);
  }

  /** Like `on`, for one payload only. */
  once<K extends Name<S>>(event: K, handler: (payload: Payload<S, K>) => void): () => void {
    return this.#c.events<Events<S>>().once(event, handler);
  }

  /** Removes one handler, or every handler of the event. */
  off<K extends Name<S>>(event: K, handler?: (payload: Payload<S, K>) => void): void {
    this.#c.events<Events<S>>().off(event, handler);
  }

  /** Resolves with the next payload of `event`; rejects on timeout, abort or `close()`. */
  waitFor<K extends Name<S>>(event: K, options?: WaitForOptions): Promise<Payload<S, K>> {
    return this.#c.events<Events<S>>().waitFor(event, options);
  }

  /** Async iterator over payloads of `event`; `break`, the signal or `close()` ends it. */
  stream<K extends Name<S>>(event: K, options?: StreamOptions): EventStream<Payload<S, K>> {
    return this.#c.events<Events<S>>().stream(event, options);
  }

  /**
   * Sends an event. While disconnected the message is queued (bounded, see `queue`) and sent,
   * in order, before `open` is announced. In raw mode, `send(text)` sends the text as is; with a
   * `ClientEvents` map, only its names compile, `send(event)` only for a payload that may be absent.
   */
  send<K extends keyof C & string>(event: K, data: C[K]): SendResult;
  send(text: NoData<C>): SendResult;
  send(event: string, data?: unknown): SendResult {
    const c = this.#c;
    if (typeof event !== 'string' || event === '') throw new InvalidArgumentError('send() needs a non-empty string');
    if (c.options.protocol !== 'raw') {
      // The server would end the session on either (4400), and the resume would not save it.
      checkName('send', event);
      if (!isSendableByClient(event)) throw new InvalidArgumentError(`'${event}' is a reserved event name`);
    }
    if (c.disposed) return 'dropped';
    return c.out.append(event, data);
  }

  /**
   * Sends a request and resolves with the server's response data. Rejects with `TimeoutError`,
   * `AbortError`, `RemoteError` (the handler failed, or the server's limits refused it:
   * `RATE_LIMITED`, `BUSY`), `SessionLostError`, `ClosedError`, `InvalidArgumentError`, or as the
   * offline queue lets it go: `NotConnectedError` (dropped by `queue.overflow`), `QueueFullError`
   * (`overflow: 'error'`), `TimeoutError` (expired by `queue.ttlMs`).
   */
  async request<T = unknown>(event: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    // Async: every refusal below rejects the promise, none throws at the caller.
    const c = this.#c;
    if (c.options.protocol === 'raw') throw new InvalidArgumentError('request() needs the surelink protocol');
    if (typeof event !== 'string' || event === '') throw new InvalidArgumentError('request() needs an event name');
    checkName('request', event);
    if (c.disposed) throw new ClosedError('client was closed');
    checkCallOptions('request', options);
    if (options.signal?.aborted) throw new AbortError(`request '${event}' aborted`);
    const requests = (c.requests ??= new PendingRequests(c.clock));
    // Withdrawn, it is written so: else a page dying before its next write leaves it stored, to be sent by the next page.
    const { id, promise } = requests.create(event, options, (gaveUp) => c.out.withdraw(gaveUp));
    try {
      if (c.out.append(event, data, id) === 'dropped') throw new NotConnectedError('offline queue full');
    } catch (error) {
      requests.reject(id, error as InvalidArgumentError); // or QueueFullError, or the one above
    }
    return promise as Promise<T>;
  }

  /**
   * Measures the round-trip time to the server in ms. Rejects with `TimeoutError` when no pong comes
   * within `timeoutMs` (default: the heartbeat's `timeoutMs`, 10 s), `NotConnectedError` while no
   * link is open or when it goes (`ClosedError` after `close()`), and in raw mode.
   */
  async ping(options: { timeoutMs?: number } = {}): Promise<number> {
    const c = this.#c;
    const o = c.options;
    checkCallOptions('ping', options);
    // Not NotConnectedError in raw mode: the link may well be open, and connecting will not help.
    if (o.protocol === 'raw') throw new InvalidArgumentError('ping() needs the surelink protocol');
    // After close() no connection will come, as request() says: not NotConnectedError, which says to wait.
    if (!c.writable)
      throw c.disposed
        ? new ClosedError('client was closed')
        : new NotConnectedError('ping() needs an open connection');
    const ts = o.clock.now();
    const done = (c.pings ??= new PingWaiters(c.clock)).wait(
      ts,
      options.timeoutMs ?? (o.heartbeat ? o.heartbeat.timeoutMs : 10_000),
    );
    c.sendPing(ts); // the heartbeat's ping: a protocol ping here, as raw mode was refused above
    return done;
  }

  /**
   * Closes for good: no reconnects, and no timer, listener or socket left behind. The goodbye still
   * goes out, after what was sent just before it, on every transport; a server that does not answer
   * it is waited for 1 s at most (README, "In Node"). Returns the messages never confirmed
   * delivered (still queued, or sent without an acknowledgement). In raw mode, which has no
   * acknowledgements, that is the texts never written to a socket.
   */
  close(): readonly QueuedMessage[] {
    const c = this.#c;
    if (c.disposed) return [];
    const undelivered = c.session.log.all().map(toMessage);
    c.dispose();
    return undelivered;
  }
}

function checkName(method: string, event: string): void {
  if (event.length > MAX_NAME_CHARS)
    throw new InvalidArgumentError(`${method}(): event names are 1-${MAX_NAME_CHARS} characters, got ${event.length}`);
}
