/**
 * Dead-link detection for one connection. Any inbound frame counts as liveness; after `intervalMs`
 * of silence a ping goes out, and silence for `intervalMs + timeoutMs` means the link is dead.
 *
 * Deadlines are judged on the wall clock, not on timers: browsers throttle timers in background
 * tabs and a laptop's timers stop while it sleeps, so a timer may fire minutes late. A late timer
 * (or `check()`, called when the tab becomes visible) that finds the deadline passed reports the
 * link dead at once instead of sending a ping and waiting another period (engine.io's
 * `_hasPingExpired`). One deadline at most is set (on the clock's shared timer, see
 * util/deadlines.ts); `received()` never touches it.
 */
import { inRange } from '../errors/invalid-argument.js';
import { MAX_DELAY_MS, type Clock } from '../util/clock.js';
import { Deadline, deadlinesOf } from '../util/deadlines.js';

/** Options of {@link Heartbeat}. */
export interface HeartbeatConstructorOptions {
  readonly clock: Clock;
  /** Silence after which a ping is sent (> 0). */
  readonly intervalMs: number;
  /** How long a ping may go unanswered; silence for `intervalMs + timeoutMs` is fatal (> 0). */
  readonly timeoutMs: number;
  /** Sends a ping frame carrying `ts` (the clock's time). */
  sendPing(ts: number): void;
  /** The link is dead: terminate it. Called once, after the heartbeat stopped itself. */
  onDead(): void;
}

/**
 * Detects a silent link within `intervalMs + timeoutMs` (plus timer slack) of the last inbound frame.
 *
 * @example
 * const hb = new Heartbeat({
 *   clock: systemClock, intervalMs: 20_000, timeoutMs: 10_000,
 *   sendPing: (ts) => transport.send(encodeFrame({ type: 'ping', ts })),
 *   onDead: () => transport.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout'),
 * });
 * hb.start();                 // after `welcome`
 * // for every inbound frame: hb.received();
 * hb.stop();                  // when the connection ends
 */
export class Heartbeat extends Deadline {
  /** Kept as given (not copied field by field): the client passes itself. */
  readonly #o: HeartbeatConstructorOptions;
  #running = false;
  #lastInbound = 0;
  /** When the last ping went out; it is unanswered while nothing arrived after it. */
  #pingAt: number | undefined;

  constructor(options: HeartbeatConstructorOptions) {
    inRange('intervalMs', options.intervalMs, 0, MAX_DELAY_MS, true);
    inRange('timeoutMs', options.timeoutMs, 0, MAX_DELAY_MS, true);
    super();
    this.#o = options;
  }

  /** Wall-clock time of the last inbound frame (or of `start()`). */
  get lastInboundAt(): number {
    return this.#lastInbound;
  }

  /** Whether the heartbeat is watching a connection. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts watching (the connection just opened); restarts when already running. */
  start(): void {
    this.#running = true;
    this.#lastInbound = this.#o.clock.now();
    this.#pingAt = undefined;
    this.#arm(this.#lastInbound);
  }

  /** Stops watching; no timer is left behind. Idempotent. */
  stop(): void {
    this.#running = false;
    this.#disarm();
  }

  /** Records an inbound frame. Hot path: only reads the clock. */
  received(): void {
    this.#lastInbound = this.#o.clock.now();
  }

  /**
   * Wall-clock check for moments when timers may have been throttled (tab became visible, network
   * came back, before a send). When the deadline has passed, stops and calls `onDead()`
   * synchronously and returns false; otherwise returns true (also when not running).
   */
  check(): boolean {
    if (!this.#running) return true;
    if (!this.#isDead(this.#now())) return true;
    this.#die();
    return false;
  }

  /**
   * Active health check (e.g. on `online`, when the old socket may be a zombie after a network
   * change): `check()`, then send a ping now unless one is already unanswered. If nothing arrives
   * within `timeoutMs` of it, the link is reported dead. Returns `check()`'s verdict.
   */
  probe(): boolean {
    if (!this.check()) return false;
    if (this.#running && !this.#pingOutstanding()) this.#ping(this.#o.clock.now());
    return true;
  }

  /** The deadline came (called by the clock's deadline group). */
  fire(): void {
    const now = this.#now();
    if (this.#isDead(now)) {
      this.#die();
      return;
    }
    if (now - this.#lastInbound >= this.#o.intervalMs && !this.#pingOutstanding()) {
      this.#ping(now);
      return;
    }
    this.#arm(now);
  }

  #ping(now: number): void {
    this.#pingAt = now;
    // Arm first: sendPing may stop us synchronously (a failed send closing the connection).
    this.#arm(now);
    this.#o.sendPing(now);
  }

  #pingOutstanding(): boolean {
    // Strictly after: a pong read in the same millisecond the ping left answers it.
    return this.#pingAt !== undefined && this.#pingAt > this.#lastInbound;
  }

  /** Silence for interval + timeout, or a ping unanswered for timeout. */
  #isDead(now: number): boolean {
    const { intervalMs, timeoutMs } = this.#o;
    if (now - this.#lastInbound >= intervalMs + timeoutMs) return true;
    const pingAt = this.#pingAt;
    return pingAt !== undefined && pingAt > this.#lastInbound && now - pingAt >= timeoutMs;
  }

  /** Sets the one deadline for the next moment something can change: a ping, or death. */
  #arm(now: number): void {
    const { clock, intervalMs, timeoutMs } = this.#o;
    const pingAt = this.#pingAt;
    const at =
      pingAt !== undefined && this.#pingOutstanding()
        ? Math.min(this.#lastInbound + intervalMs + timeoutMs, pingAt + timeoutMs)
        : this.#lastInbound + intervalMs;
    // One timer per clock for every heartbeat (see deadlines.ts), not one each.
    deadlinesOf(clock).set(this, Math.max(at, now));
  }

  #disarm(): void {
    this.group?.clear(this);
  }

  #die(): void {
    this.stop();
    this.#o.onDead();
  }

  /**
   * The clock, guarded against the wall clock jumping backwards (user or NTP set it back): shift
   * the recorded times so none lies in the future, else detection would be off until the clock
   * caught up. Costs at most one interval of extra detection time after such a jump.
   */
  #now(): number {
    const now = this.#o.clock.now();
    const latest = Math.max(this.#lastInbound, this.#pingAt ?? -Infinity);
    if (latest > now) {
      const shift = latest - now;
      this.#lastInbound -= shift;
      if (this.#pingAt !== undefined) this.#pingAt -= shift;
    }
    return now;
  }
}
