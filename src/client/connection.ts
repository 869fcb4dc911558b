/**
 * Keeps one logical connection up: drives the state machine through connect attempts, the
 * heartbeat, backoff and the browser's lifecycle. It knows links and close codes, not messages;
 * the client above it turns links into a protocol session.
 */
import { AuthError } from '../errors/auth.js';
import type { SurelinkError } from '../errors/base.js';
import { ProtocolError } from '../errors/protocol.js';
import { CloseCode, isRetryable } from '../protocol/close-codes.js';
import type { HelloFrame } from '../protocol/frames.js';
import type { CloseInfo, TransportFactory, TransportName } from '../transports/transport.js';
import { memoryFor, preferRemembered, type TransportMemory } from '../transports/memory.js';
import { Timer } from '../util/clock.js';
import { attemptSpec, errorForClose, isFatal, startAttempt, type Attempt } from './connector.js';
import type { ClientState } from './event-types.js';
import type { Heartbeat } from './heartbeat.js';
import { startLinkHeartbeat } from './keepalive.js';
import type { Link } from './link.js';
import { Pauses } from './pauses.js';
import type { ResolvedOptions } from './options.js';
import { retryScheduleFor, type RetrySchedule } from './retry.js';
import { StateMachine, type StateChange } from './state-machine.js';
import { UpgradeProber } from './upgrade.js';

/** What the connection needs from the client above it. */
export interface ConnectionHooks {
  emit(event: string, payload: unknown): void;
  /** The hello for a new attempt; `undefined` in raw mode. */
  hello(auth: string | undefined): Promise<HelloFrame | undefined>;
  /** A link completed its handshake: apply the welcome and flush. Returns whether it resumed. */
  established(link: Link): boolean | ProtocolError;
  message(text: string): void;
  /** The link went away (any reason). */
  lost(): void;
  /** The state became `closed`. */
  closed(): void;
}

export class Connection {
  readonly #o: ResolvedOptions;
  readonly #url: URL;
  readonly #factories: readonly TransportFactory[];
  readonly #hooks: ConnectionHooks;
  readonly #machine: StateMachine;
  readonly #retry: RetrySchedule | undefined;
  readonly #retryTimer: Timer;
  #heartbeat: Heartbeat | undefined;
  #link: Link | undefined;
  #attempt: Attempt | undefined;
  #generation = 0;
  readonly #pauses: Pauses;
  readonly #memory: TransportMemory | undefined;
  readonly #prober: UpgradeProber | undefined;
  /** The transport of the last link, kept across drops: a reconnect on the same one is no switch. */
  #lastTransport: TransportName | null = null;
  /** The link died while an upgrade probe ran: handled once the probe settles. */
  #lostDuringProbe: CloseInfo | undefined;

  constructor(options: ResolvedOptions, url: URL, factories: readonly TransportFactory[], hooks: ConnectionHooks) {
    this.#o = options;
    this.#url = url;
    this.#factories = factories;
    this.#hooks = hooks;
    this.#retry = options.reconnect ? retryScheduleFor(options.reconnect, options.clock) : undefined;
    this.#retryTimer = new Timer(options.clock);
    this.#memory = memoryFor(options.rememberTransport, url, options.clock);
    this.#prober =
      options.upgrade && factories.length > 1
        ? new UpgradeProber(options.upgrade, {
            clock: options.clock,
            hello: async () => this.#hooks.hello(await this.#o.auth?.()),
            start: (hello) => startAttempt(attemptSpec(options, url, hello, factories.slice(0, 1))),
            upgrade: (link) => this.#upgraded(link),
            failed: () => this.#probeFailed(),
          })
        : undefined;
    this.#pauses = new Pauses({
      state: () => this.#machine.state,
      heartbeat: () => this.#heartbeat,
      retryPending: () => this.#retryTimer.pending,
      drop: (code, reason) => this.drop(code, reason),
      stopRetry: () => this.#retryTimer.stop(),
      abandonAttempt: () => this.#abandonAttempt(),
      go: (to, reason) => this.#machine.go(to, reason),
    });
    this.#machine = new StateMachine((change) => hooks.emit('state', change), {
      idle: () => {},
      connecting: () => this.#enterConnecting(),
      open: () => {},
      reconnecting: (change) => this.#enterReconnecting(change),
      closed: () => this.#enterClosed(),
    });
  }

  get state(): ClientState {
    return this.#machine.state;
  }

  get transport(): TransportName | null {
    return this.#machine.state === 'open' ? (this.#link?.transport.name ?? null) : null;
  }

  /** Open and, by the wall clock, still alive (a dead link found here is dropped at once). */
  get writable(): boolean {
    return this.#machine.state === 'open' && (this.#heartbeat?.check() ?? true) && this.#machine.state === 'open';
  }

  connect(): void {
    if (this.#machine.state !== 'idle' && this.#machine.state !== 'closed') return;
    this.#retry?.reset();
    this.#pauses.bind(this.#o.lifecycle);
    this.#machine.go('connecting', 'connect()');
  }

  /** Stops for good (or until `connect()`); `close` event only when a link was open. */
  close(reason: string): void {
    if (this.#link) this.drop(CloseCode.Normal, reason);
    if (this.#machine.state !== 'closed') this.#machine.go('closed', reason);
  }

  send(text: string): void {
    this.#link?.send(text);
  }

  /** Ends the current link from our side and reacts as to any loss of it. */
  drop(code: number, reason: string): void {
    this.#link?.close(code, reason);
    this.#linkClosed({ code, reason });
  }

  #enterConnecting(): void {
    if (this.#pauses.paused) return this.#machine.go('reconnecting', this.#pauses.paused);
    const generation = ++this.#generation;
    void this.#runAttempt(generation);
  }

  async #runAttempt(generation: number): Promise<void> {
    let hello: HelloFrame | undefined;
    try {
      hello = await this.#hooks.hello(await this.#o.auth?.());
    } catch (cause) {
      if (generation === this.#generation) this.#failed(new AuthError('options.auth failed', undefined, { cause }));
      return;
    }
    if (generation !== this.#generation) return;
    try {
      this.#attempt = startAttempt(
        attemptSpec(this.#o, this.#url, hello, preferRemembered(this.#factories, this.#memory)),
      );
      const link = await this.#attempt.done;
      if (generation !== this.#generation) link.close(CloseCode.Normal, 'superseded');
      else this.#opened(link);
    } catch (error) {
      if (generation === this.#generation) this.#failed(error as SurelinkError);
    }
  }

  #opened(link: Link): void {
    this.#attempt = undefined;
    const resumed = this.#adopt(link);
    if (resumed === undefined) return;
    this.#retry?.opened();
    this.#machine.go('open', resumed ? 'resumed' : 'connected');
    this.#hooks.emit('open', { transport: link.transport.name, resumed });
    this.#attach(link);
  }

  /** Makes `link` the current one: welcome, flush, heartbeat, memory, probing. */
  #adopt(link: Link): boolean | undefined {
    const previous = this.#lastTransport;
    this.#link = link;
    let resumed: boolean | ProtocolError;
    try {
      resumed = this.#hooks.established(link);
      if (!(resumed instanceof ProtocolError))
        this.#heartbeat = startLinkHeartbeat(this.#o, link, () =>
          this.drop(CloseCode.HeartbeatTimeout, 'heartbeat timeout'),
        );
    } catch (cause) {
      // Never leave a link half-adopted: whatever went wrong, close it and retry.
      resumed = new ProtocolError(`could not start the session: ${String(cause)}`, CloseCode.ProtocolError, { cause });
    }
    if (resumed instanceof ProtocolError) {
      link.close(resumed.closeCode, resumed.message);
      this.#link = undefined;
      this.#failed(resumed);
      return undefined;
    }
    const name = link.transport.name;
    const preferred = name === this.#factories[0]?.name;
    if (preferred) this.#memory?.forget();
    else this.#memory?.remember(name);
    if (preferred) this.#prober?.reset();
    else this.#prober?.start();
    this.#lastTransport = name;
    if (previous !== name) this.#hooks.emit('transport', { from: previous, to: name });
    return resumed;
  }

  #attach(link: Link): void {
    if (this.#link === link)
      link.attach({ onMessage: (t) => this.#message(t), onClose: (info) => this.#linkClosed(info) });
  }

  /** The preferred transport answered: move the session over (the server drops the old link). */
  #upgraded(link: Link): void {
    const old = this.#link;
    this.#lostDuringProbe = undefined;
    this.#stopHeartbeat();
    old?.close(CloseCode.Normal, 'upgraded');
    if (this.#machine.state !== 'open' || this.#adopt(link) === undefined)
      return void link.close(CloseCode.Normal, 'not needed');
    this.#attach(link);
  }

  #probeFailed(): void {
    const lost = this.#lostDuringProbe;
    this.#lostDuringProbe = undefined;
    if (lost) this.#linkClosed(lost);
  }

  #message(text: string): void {
    this.#heartbeat?.received();
    this.#hooks.message(text);
  }

  #linkClosed(info: CloseInfo): void {
    const link = this.#link;
    if (!link) return;
    // Resuming on the probe makes the server drop this link: wait for the probe's outcome.
    if (this.#prober?.inFlight && info.code !== CloseCode.HeartbeatTimeout) return void (this.#lostDuringProbe = info);
    this.#prober?.stop();
    this.#link = undefined;
    this.#stopHeartbeat();
    this.#hooks.lost();
    const fatal = !isRetryable(info.code) && !this.#pauses.paused;
    const willReconnect = !fatal && this.#retry !== undefined;
    this.#hooks.emit('close', { code: info.code, reason: info.reason, willReconnect });
    if (fatal && info.code !== CloseCode.Normal) this.#hooks.emit('error', errorForClose(link.transport.name, info));
    this.#machine.go(willReconnect ? 'reconnecting' : 'closed', info.reason || `code ${info.code}`);
  }

  #failed(error: SurelinkError): void {
    this.#attempt = undefined;
    this.#hooks.emit('error', error);
    const stop = (isFatal(error) && !this.#pauses.paused) || this.#retry === undefined;
    this.#machine.go(stop ? 'closed' : 'reconnecting', error.message);
  }

  #enterReconnecting(change: StateChange): void {
    if (this.#pauses.paused || !this.#retry) return;
    const next = this.#retry.next(change.reason);
    if (!next) return this.#machine.go('closed', 'reconnect attempts exhausted');
    this.#hooks.emit('reconnecting', next);
    this.#retryTimer.start(next.delayMs, () => this.#machine.go('connecting', `retry #${next.attempt}`));
  }

  #enterClosed(): void {
    this.#abandonAttempt();
    this.#prober?.stop();
    this.#lostDuringProbe = undefined;
    this.#retryTimer.stop();
    this.#stopHeartbeat();
    this.#link?.close(CloseCode.Normal, 'client closed');
    this.#link = undefined;
    this.#pauses.unbind();
    this.#hooks.closed();
  }

  /** The attempt under way (if any) is void: its late callbacks are ignored by generation. */
  #abandonAttempt(): void {
    this.#generation++;
    this.#attempt?.cancel();
    this.#attempt = undefined;
  }

  #stopHeartbeat(): void {
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
  }
}
