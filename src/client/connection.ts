/**
 * Keeps one logical connection up: drives the state machine through connect attempts, the heartbeat, backoff and the
 * browser's lifecycle. It knows links and close codes, not messages; the client above turns links into a session.  An
 * idle connected client should cost little memory, so this object is the one host of its helpers (pauses, heartbeat,
 * link): they call its methods instead of holding closures, and the helpers of features not in use (backoff, pauses,
 * probing) are created when first needed.
 */
import { ProtocolError, TransportError, type SurelinkError } from '../errors/index.js';
import { HEARTBEAT_TIMEOUT, isRetryable, NORMAL } from '../protocol/close-codes.js';
import { encodeClose } from '../protocol/codec.js';
import type { HelloFrame } from '../protocol/frames.js';
import type { CloseInfo, TransportFactory, TransportName } from '../transports/transport.js';
import { preferRemembered, rememberTransport } from '../transports/memory.js';
import type { Clock } from '../util/clock.js';
import { patience } from './connect-time.js';
import { errorForClose, isFatal, startAttempt, type Attempt, type HelloMaker } from './connector.js';
import type { ClientState } from './event-types.js';
import { Heartbeat, type HeartbeatConstructorOptions } from './heartbeat.js';
import { keepaliveInterval, pingText } from './keepalive.js';
import type { Link, LinkHandlers } from './link.js';
import { lifecycleOf, Pauses, type PauseHost } from './pauses.js';
import type { ResolvedOptions } from './options.js';
import { RetrySchedule, type RetrySettings, type ScheduledRetry } from './retry.js';
import { transition } from './state-machine.js';
import { ahead, UpgradeProber } from './upgrade.js';

/**
 * The connection half of the client's core: core.ts extends it with the session side (one object holds both) and
 * provides what the connection needs from above through the abstract methods.
 */
export abstract class Connection implements PauseHost, LinkHandlers, HeartbeatConstructorOptions, HelloMaker {
  declare readonly options: ResolvedOptions;
  declare readonly clock: Clock; // the options' (the heartbeat's host reads it here)
  readonly #url: string; // the main URL, absolute: endpoints are derived from it per attempt
  readonly #factories: readonly TransportFactory[];
  #state: ClientState = 'idle';
  #retry: RetrySchedule | undefined; // the backoff streak and its timer, from the first reconnection on
  #heartbeat: Heartbeat | undefined; // created with the first link it watches, then restarted for each
  #link: Link | undefined;
  #attempt: Attempt | undefined;
  #generation = 0;
  #pauses: Pauses | undefined;
  #prober: UpgradeProber | undefined;
  #lastTransport: TransportName | null = null; // the last link's, kept across drops: a reconnect on it is no switch
  #patience: number; // what each transport gets to connect: the option, more once a slow link needed it (`patience`)

  constructor(options: ResolvedOptions, url: string, factories: readonly TransportFactory[]) {
    this.options = options;
    this.clock = options.clock;
    this.#url = url;
    this.#factories = factories;
    this.#patience = options.connectTimeoutMs;
  }

  // --- what the client above provides ---

  abstract emit(event: string, payload: unknown): void;
  /** The hello for a new attempt; `undefined` in raw mode. */
  abstract hello(auth: string | undefined): Promise<HelloFrame | undefined>;
  /** A link completed its handshake: apply the welcome and flush. Returns whether it resumed. */
  abstract established(link: Link): boolean | ProtocolError;
  /** A frame on the current link (the heartbeat, there as `heartbeat`, is to be told of it). */
  abstract onMessage(text: string): void;
  abstract lost(): void; // the link went away (any reason)
  abstract closed(): void; // the state became `closed`
  abstract save(): void; // the page may be going (unload, freeze, offline): store the session now (pauses.ts)

  get state(): ClientState {
    return this.#state;
  }

  get transport(): TransportName | null {
    return this.#state === 'open' ? this.#lastTransport : null; // when open, the current link's
  }

  /**
   * A link is up, its welcome applied, and by the wall clock still alive (a dead link found here is dropped at once).
   * The link, not the state: a `close` or `error` handler of its loss sees `open` with no link, a `transport` handler
   * of a new one (its queue flushed) not `open` yet. While the welcome is applied, sends wait for its frame limit.
   */
  get writable(): boolean {
    return !this.#link?.welcome && (this.#heartbeat?.check() ?? true) && !!this.#link;
  }

  get heartbeat(): Heartbeat | undefined {
    return this.#heartbeat;
  }

  get timeoutMs(): number {
    return (this.options.heartbeat as { timeoutMs: number }).timeoutMs; // asked only while a heartbeat runs
  }

  sendPing(ts: number): void {
    this.send(pingText(this.options, ts));
  }

  skip(ms: number): void {
    this.#retry?.skip(ms);
  }

  onDead(): void {
    this.drop(HEARTBEAT_TIMEOUT, 'heartbeat timeout');
  }

  connect(): void {
    if (this.#state !== 'idle' && this.#state !== 'closed') return;
    this.#retry?.reset();
    const env = this.#pauses ? undefined : lifecycleOf(this.options.lifecycle);
    if (env) this.#pauses = new Pauses(this, env);
    this.go('connecting', 'connect()');
  }

  /** Stops for good (or until `connect()`); `close` event only when a link was open. `farewell`: `Attempt.cancel`. */
  close(reason: string, farewell?: string): void {
    this.#attempt?.cancel(farewell);
    if (this.#link) this.drop(NORMAL, reason);
    if (this.#state !== 'closed') this.go('closed', reason);
  }

  send(text: string): boolean | undefined {
    return this.#link?.send(text);
  }

  /** Ends the current link from our side and reacts as to any loss of it. */
  drop(code: number, reason: string): void {
    this.#link?.close(code, reason);
    this.#lose({ code, reason }); // never held for a probe: `close()`, a pause or a close frame must act now
  }

  /**
   * Moves to `to` (the table in state-machine.ts decides whether it may), then runs its entry. A move a handler made
   * meanwhile (`close()` in a `state`, `close` or `error` handler) stands: one planned before it (`at`) is void.
   */
  go(to: ClientState, reason: string, at = this.#generation, next?: ScheduledRetry | string): void {
    if (at !== this.#generation) return;
    const change = transition(this.#state, to, reason);
    this.#state = to;
    if (to !== 'open') {
      // Probing and a backoff stop; an attempt let go of (or a lost link's probe) is void (generation).
      this.#prober?.stop();
      this.#retry?.timer.stop();
      this.#generation++;
      this.#attempt?.cancel();
      this.#attempt = undefined;
    }
    at = this.#generation;
    this.emit('state', change);
    if (at !== this.#generation) return;
    if (to === 'connecting') this.#enterConnecting();
    else if (to === 'reconnecting') this.#enterReconnecting(reason, next);
    else if (to === 'closed') this.#enterClosed();
  }

  onClose(info: CloseInfo): void {
    // While open, an attempt is the upgrade probe: resuming on it makes the server drop this link, so wait for it.
    if (this.#prober && this.#attempt) this.#prober.lost = info;
    else this.#lose(info, true);
  }

  /** `transport`: no close frame came first, so its 1000 (a proxy, a restart, a raw server) is retried like a drop. */
  #lose(info: CloseInfo, transport?: boolean): void {
    const link = this.#link;
    const at = this.#generation;
    if (!link) return;
    this.#link = undefined;
    this.#heartbeat?.stop();
    this.lost();
    const fatal = !(transport && info.code === NORMAL) && !isRetryable(info.code) && !this.#pauses?.paused;
    const reason = info.reason || `code ${info.code}`;
    // The policy is asked now (while paused, coming back decides): `close` must promise no retry it refuses.
    const next = fatal || !this.options.reconnect ? reason : this.#pauses?.paused ? undefined : this.#next(reason);
    const willReconnect = typeof next != 'string';
    this.emit('close', { code: info.code, reason: info.reason, willReconnect });
    if ((fatal && info.code !== NORMAL) || (info.error && !(info.error instanceof TransportError)))
      this.emit('error', errorForClose(link.transport.name, info)); // and bad input, a throwing send (link.ts)
    this.go(willReconnect ? 'reconnecting' : 'closed', willReconnect ? reason : next, at, next);
  }

  #enterConnecting(): void {
    if (this.#pauses?.paused) return this.go('reconnecting', this.#pauses.paused);
    void this.#run(preferRemembered(this.#factories, this.options.rememberTransport, this.#url, this.clock));
  }

  /** An attempt on `factories` (its hello is made as it starts: `options.auth` runs then); while open, the upgrade probe. */
  async #run(factories: readonly TransportFactory[], ms = this.#patience): Promise<void> {
    const generation = ++this.#generation;
    const attempt = (this.#attempt = startAttempt(this.options, this.#url, this, factories, ms)); // rejects, never throws
    try {
      if (generation !== this.#generation) attempt.cancel(); // `auth`, called as it starts, closed the client
      const link = await attempt.done;
      if (generation !== this.#generation) return link.close(NORMAL, 'superseded');
      this.#patience = attempt.patience; // see `patience`
      this.#attempt = undefined;
      if (this.#state !== 'open' || link.welcome?.resumed !== false) return this.#take(link);
      // The probe got a new session (a server node without ours): moving would lose it with no `open` to say so.
      link.send(encodeClose(NORMAL, 'session not resumed'));
      link.close(NORMAL, 'session not resumed');
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#attempt = undefined;
      if (this.#state !== 'open') return this.#failed(error as SurelinkError);
    }
    const lost = this.#prober?.failed(attempt.sent); // a failed probe: the next one later, a loss held meanwhile now
    if (lost) this.#lose(lost, true);
  }

  /** Makes an attempt's link current and announces it; while open, the probe's: the session moves over, no new `open`. */
  #take(link: Link): void {
    const upgrade = this.#state === 'open';
    if (upgrade) {
      this.#heartbeat?.stop(); // a loss of the old link held meanwhile is moot: adopting resets the prober
      this.#link?.close(NORMAL, 'upgraded');
      this.lost(); // its pings will never get their pong: rejected as on any loss
    }
    const resumed = this.#adopt(link);
    if (resumed === undefined) return;
    if (!upgrade) {
      this.#retry?.opened();
      this.go('open', resumed ? 'resumed' : 'connected');
      this.emit('open', { transport: link.transport.name, resumed });
    }
    if (this.#link === link) link.attach(this); // unless a handler closed it
  }

  /** Makes `link` the current one: welcome, flush, heartbeat, memory, probing. */
  #adopt(link: Link): boolean | undefined {
    const previous = this.#lastTransport;
    this.#link = link;
    let resumed: boolean | ProtocolError;
    try {
      resumed = this.established(link);
      if (this.#link !== link) return undefined; // an `error` or `queue:expired` handler closed it
      const every = resumed instanceof ProtocolError ? undefined : keepaliveInterval(this.options, link);
      if (every !== undefined) (this.#heartbeat ??= new Heartbeat(this)).start(every); // the link is watched
    } catch (cause) {
      // Never leave a link half-adopted: whatever went wrong, close it and retry.
      resumed = new ProtocolError(`could not start the session: ${String(cause)}`, undefined, { cause }); // ProtocolError's code
    }
    if (resumed instanceof ProtocolError) {
      link.close(resumed.closeCode, resumed.message);
      this.#link = undefined;
      this.#failed(resumed);
      return undefined;
    }
    const name = (this.#lastTransport = link.transport.name);
    const preferred = !ahead(this.#factories, name).length;
    rememberTransport(this.options.rememberTransport, this.#url, this.clock, preferred ? undefined : name);
    if (preferred) this.#prober?.reset();
    else if (this.options.upgrade && link.welcome) {
      // Only a session (a welcome) can move: in raw mode a switch is a new connection the app is not told of.
      const probe = (): void => {
        void this.#run(ahead(this.#factories, this.#lastTransport), this.#prober?.timeoutMs(this.#patience));
      };
      (this.#prober ??= new UpgradeProber(this.options.upgrade, this.clock, probe)).start();
    }
    link.welcome = undefined; // applied: an open link need not hold it, and it is writable (`writable`)
    if (previous !== name) this.emit('transport', { from: previous, to: name });
    return resumed;
  }

  #failed(error: SurelinkError): void {
    const at = this.#generation;
    this.#patience = patience(this.#patience, error); // not a probe's: a hanging WebSocket's own
    this.emit('error', error);
    const stop = (isFatal(error) && !this.#pauses?.paused) || this.options.reconnect === false;
    this.go(stop ? 'closed' : 'reconnecting', error.message, at);
  }

  /** The next retry after a loss or failure (`reason`), or why none comes; a policy that throws is reported. */
  #next(reason: string): ScheduledRetry | string {
    try {
      const settings = this.options.reconnect as RetrySettings; // callers check it is set
      return (this.#retry ??= new RetrySchedule(settings, this.clock)).next(reason) || 'reconnect attempts exhausted';
    } catch (error) {
      this.emit('error', error); // no delay to wait for: say why and stop, not wait for nothing
      return 'reconnect policy failed';
    }
  }

  #enterReconnecting(reason: string, planned?: ScheduledRetry | string): void {
    if (this.#pauses?.paused || !this.options.reconnect) return;
    const at = this.#generation;
    const next = planned || this.#next(reason);
    if (typeof next == 'string') return this.go('closed', next, at);
    // Started before it is announced, so a handler's `close()` stops it; a pause holds it (see pauses.ts).
    (this.#retry as RetrySchedule).timer.start(next.delayMs, () => {
      if (!this.#pauses?.paused) this.go('connecting', `retry #${next.attempt}`);
    });
    this.emit('reconnecting', next);
  }

  #enterClosed(): void {
    this.#heartbeat?.stop();
    this.#link?.close(NORMAL, 'client closed');
    this.#link = undefined;
    this.#pauses?.unbind();
    this.#pauses = undefined;
    this.closed();
  }
}
