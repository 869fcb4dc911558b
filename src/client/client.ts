import { AbortError } from '../errors/abort.js';
import { ClosedError } from '../errors/closed.js';
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { NotConnectedError } from '../errors/not-connected.js';
import type { ProtocolError } from '../errors/protocol.js';
import { CloseCode } from '../protocol/close-codes.js';
import { encodeFrame } from '../protocol/codec.js';
import { isSendableByClient } from '../protocol/frames.js';
import { resolveTransports } from '../transports/registry.js';
import type { TransportName } from '../transports/transport.js';
import { parseMainUrl } from '../transports/urls.js';
import { Connection } from './connection.js';
import type {
  ClientEventsOf,
  ClientState,
  EventMap,
  QueuedMessage,
  ValidEventMap,
  ValidSendMap,
} from './event-types.js';
import { TypedEmitter, type EventStream, type StreamOptions, type WaitForOptions } from './events.js';
import type { Link } from './link.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { PingWaiters } from './pings.js';
import { Outgoing, type SendResult } from './outgoing.js';
import { Persistence } from './persistence.js';
import { PendingRequests, type RequestOptions } from './requests.js';
import { ClientSession } from './session.js';

export type { SendResult };

type Emitter<S> = TypedEmitter<ClientEventsOf<S>>;
type Name<S> = keyof ClientEventsOf<S> & string;

/**
 * A realtime connection that stays up: reconnects with backoff, detects dead links, queues while
 * offline and resumes its session so nothing is lost or duplicated.
 * @example
 * const client = new RealtimeClient<ServerEvents, ClientEvents>('wss://example.com/realtime');
 * client.on('chat', (m) => render(m));
 * client.send('chat', { text: 'hi' });
 */
export class RealtimeClient<S extends ValidEventMap<S> = EventMap, C extends ValidSendMap<C> = EventMap> {
  readonly #o: ResolvedOptions;
  readonly #events: Emitter<S>;
  readonly #requests: PendingRequests;
  readonly #pings: PingWaiters;
  readonly #session: ClientSession;
  readonly #persistence: Persistence;
  readonly #out: Outgoing;
  readonly #conn: Connection;
  #disposed = false;
  #rtt: number | undefined;

  constructor(url: string, options: ClientOptions = {}) {
    const o = (this.#o = resolveOptions(options));
    const { clock, logger } = o;
    this.#events = new TypedEmitter({
      clock,
      onHandlerError: (e, ev) => logger.error(`surelink: '${ev}' handler threw`, e),
    });
    this.#requests = new PendingRequests(clock);
    this.#pings = new PingWaiters(clock);
    this.#session = new ClientSession(clock, this.#requests, o.queue, {
      write: (text) => this.#conn.send(text),
      deliver: (event, data) => this.#emit(event, data),
      pong: (ts) => (this.#rtt = this.#pings.pong(ts)),
      closeFrame: (code, reason) => this.#conn.drop(code, reason),
      acked: () => void this.#persistence.save(),
    });
    this.#persistence = new Persistence(
      o.queue.storage,
      o.queue.storageKey ?? `surelink:${url}`,
      this.#session,
      logger,
    );
    this.#conn = new Connection(o, parseMainUrl(url), resolveTransports(o.transports), {
      emit: (event, payload) => this.#emit(event, payload),
      hello: async (auth) => {
        await this.#persistence.ready;
        return o.protocol === 'raw' ? undefined : this.#session.hello(auth);
      },
      established: (link) => this.#established(link),
      message: (text) => this.#message(text),
      lost: () => {
        this.#session.detached();
        this.#pings.rejectAll(new NotConnectedError('connection lost'));
      },
      closed: () => {
        this.#out.stop();
        this.#pings.rejectAll(new ClosedError('client closed'));
        this.#requests.rejectAll(new ClosedError('client closed'));
      },
    });
    this.#out = new Outgoing({
      options: o,
      session: this.#session,
      persistence: this.#persistence,
      requests: this.#requests,
      link: this.#conn,
      emit: (event, payload) => this.#emit(event, payload),
    });
    if (o.autoConnect) queueMicrotask(() => this.#conn.state === 'idle' && !this.#disposed && this.#conn.connect());
  }

  /** Current state of the connection. */
  get state(): ClientState {
    return this.#conn.state;
  }

  /** The transport of the open connection, else `null`. */
  get transport(): TransportName | null {
    return this.#conn.transport;
  }

  /** Latest round-trip time in ms (from `ping()` or the heartbeat), if measured yet. */
  get rtt(): number | undefined {
    return this.#rtt;
  }

  /** Messages waiting in the offline queue. */
  get queued(): number {
    return this.#session.log.queued;
  }

  /** Starts connecting: needed with `autoConnect: false`, or to try again after a fatal close. */
  connect(): void {
    if (this.#disposed) throw new ClosedError('client was closed; create a new one');
    this.#conn.connect();
  }

  // Prototype methods, not per-instance arrows: an idle client should cost little memory.
  /** Subscribes to a server or lifecycle event; returns the unsubscribe function. */
  on<K extends Name<S>>(event: K, handler: (payload: ClientEventsOf<S>[K]) => void): () => void {
    return this.#events.on(event, handler);
  }

  /** Like `on`, for one payload only. */
  once<K extends Name<S>>(event: K, handler: (payload: ClientEventsOf<S>[K]) => void): () => void {
    return this.#events.once(event, handler);
  }

  /** Removes one handler, or every handler of the event. */
  off<K extends Name<S>>(event: K, handler?: (payload: ClientEventsOf<S>[K]) => void): void {
    this.#events.off(event, handler);
  }

  /** Resolves with the next payload of `event`; rejects on timeout, abort or `close()`. */
  waitFor<K extends Name<S>>(event: K, options?: WaitForOptions): Promise<ClientEventsOf<S>[K]> {
    return this.#events.waitFor(event, options);
  }

  /** Async iterator over payloads of `event`; `break`, the signal or `close()` ends it. */
  stream<K extends Name<S>>(event: K, options?: StreamOptions): EventStream<ClientEventsOf<S>[K]> {
    return this.#events.stream(event, options);
  }

  /**
   * Sends an event. While disconnected the message is queued (bounded, see `queue`) and sent,
   * in order, before `open` is announced. In raw mode, `send(text)` sends the text as is.
   */
  send<K extends keyof C & string>(event: K, data: C[K]): SendResult;
  send(text: string): SendResult;
  send(event: string, data?: unknown): SendResult {
    if (typeof event !== 'string' || event === '') throw new InvalidArgumentError('send() needs a non-empty string');
    if (this.#o.protocol !== 'raw' && !isSendableByClient(event))
      throw new InvalidArgumentError(`'${event}' is a reserved event name`);
    if (this.#disposed) return 'dropped';
    return this.#out.append({ event, data });
  }

  /**
   * Sends a request and resolves with the server's response data. Rejects with `TimeoutError`,
   * `AbortError`, `RemoteError` (the handler failed), `SessionLostError` or `ClosedError`.
   */
  request<T = unknown>(event: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    if (this.#o.protocol === 'raw')
      return Promise.reject(new InvalidArgumentError('request() needs the surelink protocol'));
    if (typeof event !== 'string' || event === '')
      return Promise.reject(new InvalidArgumentError('request() needs an event name'));
    if (this.#disposed) return Promise.reject(new ClosedError('client was closed'));
    if (options.signal?.aborted) return Promise.reject(new AbortError(`request '${event}' aborted`));
    const { id, promise } = this.#requests.create(event, options, (gaveUp) => this.#session.log.removeRequest(gaveUp));
    try {
      if (this.#out.append({ event, data, requestId: id }) === 'dropped')
        this.#requests.reject(id, new NotConnectedError('offline queue is full'));
    } catch (error) {
      this.#requests.reject(id, error as InvalidArgumentError);
    }
    return promise as Promise<T>;
  }

  /** Measures the round-trip time to the server in ms. Rejects when not connected. */
  ping(options: { timeoutMs?: number } = {}): Promise<number> {
    if (this.#o.protocol === 'raw' || !this.#conn.writable)
      return Promise.reject(new NotConnectedError('ping() needs an open connection'));
    const ts = this.#o.clock.now();
    const done = this.#pings.wait(ts, options.timeoutMs ?? (this.#o.heartbeat ? this.#o.heartbeat.timeoutMs : 10_000));
    this.#session.ping(ts);
    return done;
  }

  /**
   * Closes for good: no reconnects, and no timer, listener or socket left behind. Returns the
   * messages never confirmed delivered (still queued, or sent without an acknowledgement).
   */
  close(): readonly QueuedMessage[] {
    if (this.#disposed) return [];
    this.#disposed = true;
    const undelivered: QueuedMessage[] = this.#session.log
      .all()
      .map(({ event, data, queuedAt }) => ({ event, data, queuedAt }));
    if (this.#conn.state === 'open')
      this.#conn.send(encodeFrame({ type: 'close', code: CloseCode.Normal, reason: 'client closed' }));
    this.#conn.close('close()');
    this.#session.end();
    this.#persistence.clear();
    this.#events.end(new ClosedError('client was closed'));
    this.#events.removeAllListeners();
    return undelivered;
  }

  #emit(event: string, payload: unknown): void {
    (this.#events.emit as (e: string, p: unknown) => void)(event, payload);
  }

  /** Applies the welcome, then flushes the queue: all before `open` is announced. */
  #established(link: Link): boolean | ProtocolError {
    this.#out.linked();
    if (!link.welcome) return (this.#out.pump(), false);
    const result = this.#session.welcome(link.welcome);
    if (!('resumed' in result)) return result;
    if (!result.resumed) this.#out.sessionLost(result.unconfirmed);
    this.#out.pump();
    return result.resumed;
  }

  #message(text: string): void {
    if (this.#o.protocol === 'raw') return this.#emit('message', text);
    const error = this.#session.receive(text);
    if (!error) return;
    this.#emit('error', error);
    this.#conn.send(encodeFrame({ type: 'close', code: error.closeCode, reason: error.message }));
    this.#conn.drop(error.closeCode, error.message);
  }
}
