/**
 * The inside of a `RealtimeClient`: the connection (which it extends) wired to the session and the
 * outgoing side. It is the host every part calls back (connection, session, outgoing side,
 * emitter) through its methods, so an idle client holds a handful of objects and no closures;
 * the parts of features not in use (emitter, requests, pings, persistence) are created when first
 * needed. `RealtimeClient` is the public face over it.
 */
import { ClosedError } from '../errors/closed.js';
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { NotConnectedError } from '../errors/not-connected.js';
import type { ProtocolError } from '../errors/protocol.js';
import { NORMAL } from '../protocol/close-codes.js';
import { MAX_FRAME_CHARS, encodeClose } from '../protocol/codec.js';
import type { HelloFrame, ResponseFrame } from '../protocol/frames.js';
import { longpollTransport } from '../transports/longpoll.js';
import { resolveTransports } from '../transports/registry.js';
import type { TransportFactory } from '../transports/transport.js';
import { parseMainUrl } from '../transports/urls.js';
import { Connection } from './connection.js';
import type { EventMap } from './event-types.js';
import { TypedEmitter, type TypedEmitterOptions } from './events.js';
import type { Link } from './link.js';
import type { ResolvedOptions } from './options.js';
import { Outgoing, type OutgoingDeps } from './outgoing.js';
import { Persistence } from './persistence.js';
import type { PingWaiters } from './pings.js';
import type { PendingRequests } from './requests.js';
import { ClientSession, type SessionHooks } from './session.js';

/** The factories of each transport list (lists of names are shared, see options.ts). */
const factories = new WeakMap<ResolvedOptions['transports'], readonly TransportFactory[]>();

/** Main URLs, one copy each: the clients of one endpoint (often many, in Node) share it. */
const urls = new Map<string, string>();

function sharedUrl(url: string): string {
  const known = urls.get(url);
  if (known !== undefined) return known;
  if (urls.size >= 64) urls.clear();
  urls.set(url, url);
  return url;
}

function factoriesOf(list: ResolvedOptions['transports']): readonly TransportFactory[] {
  let resolved = factories.get(list);
  if (!resolved) factories.set(list, (resolved = resolveTransports(list)));
  return resolved;
}

export class ClientCore extends Connection implements SessionHooks, OutgoingDeps, TypedEmitterOptions {
  declare readonly session: ClientSession;
  declare readonly out: Outgoing;
  declare readonly persistence: Persistence;
  #events: TypedEmitter<EventMap> | undefined;
  /** The requests of this client, created with its first (`request()`). */
  declare requests: PendingRequests | undefined;
  /** The pings waiting for their pong, from the first `ping()` on. */
  declare pings: PingWaiters | undefined;
  /** Latest round-trip time (from `ping()` or the heartbeat). */
  declare rtt: number | undefined;
  disposed = false;

  constructor(url: string, o: ResolvedOptions) {
    const { href } = parseMainUrl(url);
    const factories = factoriesOf(o.transports);
    // Long polling's connection id (PROTOCOL.md): an opening POST with one got 404, for ever.
    if (
      o.protocol !== 'raw' &&
      factories.includes(longpollTransport) &&
      /^[^#]*[?&]c([=&#]|$)/.test(o.urls.longpoll ?? href)
    )
      throw new InvalidArgumentError('long polling reserves the query parameter c');
    super(o, sharedUrl(href), factories);
    this.session = new ClientSession(o.queue, this);
    const { storage, storageKey } = o.queue;
    this.persistence = storage
      ? new Persistence({
          store: storage,
          key: storageKey ?? `surelink:${url}`,
          session: this.session,
          options: o,
        })
      : Persistence.none;
    this.out = new Outgoing(this);
  }

  /** The emitter, created with the first subscription; `M` types it for the caller (client.ts). */
  events<M extends object = EventMap>(): TypedEmitter<M> {
    return (this.#events ??= new TypedEmitter(this)) as unknown as TypedEmitter<M>;
  }

  emit(event: string, payload: unknown): void {
    this.#events?.emit(event, payload);
    // E.g. after `waitFor('open')`: nothing left to hold. The current one: a handler may have made a
    // new emitter (one subscribing after a nested emit found this one idle), which is not to be lost.
    if (this.#events?.idle) this.#events = undefined;
  }

  onHandlerError(error: unknown, event: string): void {
    this.options.logger.error(`surelink: '${event}' handler threw`, error); // guarded (options.ts)
  }

  /** Tears everything down (`close()`); the emitter is ended last, after the final events. */
  dispose(): void {
    this.disposed = true;
    // A raw server gets the socket's close alone: a surelink close frame would reach it as a message.
    const farewell = this.options.protocol === 'raw' ? undefined : encodeClose(NORMAL, 'client closed');
    if (this.state === 'open' && farewell) this.send(farewell);
    this.close('close()', farewell); // and on an attempt under way, whose hello may have made a session
    this.closed(); // again: after a fatal close, requests and a TTL timer made since wait for this one
    this.session.end();
    this.persistence.clear();
    this.#events?.end(new ClosedError('client was closed'));
    this.#events = undefined; // with its handlers: nothing emits after this
  }

  // --- what the connection needs ---

  async hello(auth: string | undefined): Promise<HelloFrame | undefined> {
    await this.persistence.ready;
    return this.options.protocol === 'raw' ? undefined : this.session.hello(auth);
  }

  /** Applies the welcome, then flushes the queue: all before `open` is announced. */
  established(link: Link): boolean | ProtocolError {
    this.out.linked();
    const w = link.welcome;
    if (!w) return (this.out.pump(), false);
    const result = this.session.welcome(w);
    if (!('resumed' in result)) {
      // Refused like any server frame (onMessage): the server learns why, the next hello starts anew.
      this.session.end();
      link.send(encodeClose(result.closeCode, result.message));
      return result;
    }
    if (!result.resumed) this.out.sessionLost(result.unconfirmed);
    // What this server refuses for size would end the session (4413): out of the queue (frame-size.ts).
    this.out.discard(this.session.log.limit(w.f ?? w.b ?? MAX_FRAME_CHARS), 'oversize');
    this.out.pump();
    return result.resumed;
  }

  onMessage(text: string): void {
    this.heartbeat?.received();
    if (this.options.protocol === 'raw') return this.emit('message', text);
    const error = this.session.receive(text);
    if (!error) return;
    // A resume would replay what we refused, for ever with a server that keeps the session after
    // our 4400/4413 (PROTOCOL.md says it must not): the next hello starts a new session.
    this.session.end();
    this.emit('error', error);
    this.send(encodeClose(error.closeCode, error.message)); // tells the server why we end the session
    this.drop(error.closeCode, error.message);
  }

  lost(): void {
    this.session.detached();
    // On close() the link goes first: its pings are left to `closed()`, which rejects them as closed.
    if (!this.disposed) this.pings?.rejectAll(new NotConnectedError('connection lost'));
  }

  closed(): void {
    // Rejected below, so withdrawn as an aborted one is: still queued, connect() or the next page sent it.
    for (const id of this.requests?.ids() ?? []) this.session.log.removeRequest(id, true);
    // Stopped by a fatal error, not close(): the server may keep the session, which connect() or the
    // next page resumes, and the lifecycle listeners that would store it as the page goes are gone.
    if (!this.disposed) this.save();
    this.out.stop();
    this.pings?.rejectAll(new ClosedError('client closed'));
    this.requests?.rejectAll(new ClosedError('client closed'));
  }

  /**
   * The page is unloading, going hidden, being frozen or going offline (pauses.ts): stores the
   * session now, with deliveries no ack carried yet. Complete on return with a synchronous store
   * (once loaded), started with an asynchronous one, after any write under way; nothing without
   * storage, once closed, or in a tab not owning the key.
   */
  save(): void {
    void this.persistence.save();
  }

  // --- the session's hooks (besides `send`, `emit` and `drop`, which the connection has) ---

  respond(frame: ResponseFrame): void {
    this.requests?.respond(frame);
  }

  pong(ts: number): void {
    // Assigned before the call: `?.` would skip it with the call, and the heartbeat's pongs, which
    // no ping() waits for, would never set `rtt`.
    const rtt = (this.rtt = Math.max(0, this.clock.now() - ts));
    this.pings?.pong(ts, rtt);
  }
}
