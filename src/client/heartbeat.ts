/**
 * Dead-link detection for one connection. Any inbound frame counts as liveness; after `intervalMs`
 * of silence a ping goes out, and silence for `intervalMs + timeoutMs` means the link is dead.
 *
 * Deadlines are judged on the wall clock, not on timers: browsers throttle timers in background
 * tabs and a laptop's timers stop while it sleeps, so a timer may fire minutes late. A late timer
 * (or `check()`, called when the tab becomes visible) that finds the deadline passed reports the
 * link dead at once instead of sending a ping and waiting another period (engine.io's
 * `_hasPingExpired`). One deadline at most is set; `received()` never touches it.
 *
 * The heartbeats of one clock share one timer, armed for the earliest deadline: every open
 * connection keeps its deadline set for as long as it lives, and with a timer each an idle client
 * would hold a runtime timer object (in Node about 250 bytes) just for that. Setting one scans its
 * group for the earliest: a page has one client, and a Node process with thousands re-arms each
 * once per interval, which this still does in microseconds.
 */
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';

/** The heartbeats set on one clock and the one timer behind them. */
interface Group {
  readonly clock: Clock;
  readonly set: Heartbeat[];
  timer?: TimerHandle;
  at: number;
  firing?: boolean;
}

const groups = new WeakMap<object, Group>();

/** Options of {@link Heartbeat}. */
export interface HeartbeatConstructorOptions {
  readonly clock: Clock;
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
 *   clock: systemClock, timeoutMs: 10_000,
 *   sendPing: (ts) => transport.send(encodeControl({ type: 'ping', ts })),
 *   onDead: () => transport.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout'),
 * });
 * hb.start(20_000);           // after `welcome`: ping after 20 s of silence
 * // for every inbound frame: hb.received();
 * hb.stop();                  // when the connection ends
 */
export class Heartbeat {
  /** Kept as given (not copied field by field): the client passes itself. */
  readonly #o: HeartbeatConstructorOptions;
  /** The deadline set, and the group it is set in (only while running). */
  #due = Infinity;
  #group: Group | undefined;
  #lastInbound = 0;
  /** Silence after which a ping is sent (> 0; options.ts checks both durations, this trusts them). */
  #intervalMs = 0;
  /**
   * When the last ping went out; it is unanswered while nothing arrived after it. `undefined`
   * before the first: a number here would be a boxed double on every new heartbeat.
   */
  #pingAt: number | undefined;

  constructor(options: HeartbeatConstructorOptions) {
    this.#o = options;
  }

  /**
   * Starts watching (the connection just opened), pinging after `intervalMs` of silence (> 0; it
   * depends on the link, so it comes with each start); restarts when already running.
   */
  start(intervalMs: number): void {
    this.#intervalMs = intervalMs;
    this.#pingAt = undefined;
    this.#arm((this.#lastInbound = this.#o.clock.now()));
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
    const dead = !!this.#group && this.#now() >= this.#deadline();
    if (dead) this.#die();
    return !dead;
  }

  /**
   * Active health check (e.g. on `online`, when the old socket may be a zombie after a network
   * change): `check()`, then send a ping now unless one is already unanswered. If nothing arrives
   * within `timeoutMs` of it, the link is reported dead. Returns `check()`'s verdict.
   */
  probe(): boolean {
    if (!this.check()) return false;
    if (this.#group && !this.#pingOutstanding()) this.#ping(this.#o.clock.now());
    return true;
  }

  #fire(): void {
    const now = this.#now();
    if (now >= this.#deadline()) this.#die();
    else if (now - this.#lastInbound >= this.#intervalMs && !this.#pingOutstanding()) this.#ping(now);
    else this.#arm(now);
  }

  #ping(now: number): void {
    this.#pingAt = now;
    // Arm first: sendPing may stop us synchronously (a failed send closing the connection).
    this.#arm(now);
    this.#o.sendPing(now);
  }

  #pingOutstanding(): boolean {
    // Strictly after: a pong read in the same millisecond the ping left answers it. Before the first
    // ping `undefined > n` is false, as comparisons with undefined are.
    return (this.#pingAt as number) > this.#lastInbound;
  }

  /** When the link is dead: after silence for interval + timeout, or a ping unanswered for timeout. */
  #deadline(): number {
    const { timeoutMs } = this.#o;
    const silence = this.#lastInbound + this.#intervalMs + timeoutMs;
    return this.#pingOutstanding() ? Math.min(silence, (this.#pingAt as number) + timeoutMs) : silence;
  }

  /** Sets the one deadline for the next moment something can change: a ping, or death. */
  #arm(now: number): void {
    const { clock } = this.#o;
    let at = this.#lastInbound + this.#intervalMs;
    if (this.#pingOutstanding()) {
      // `received()` re-arms nothing (hot path), so also wake when the next ping would be due: else,
      // with timeoutMs > intervalMs, a quick answer would leave the next ping timeoutMs late.
      const next = (this.#pingAt as number) + this.#intervalMs;
      at = now < next ? Math.min(this.#deadline(), next) : this.#deadline();
    }
    // `systemClock` calls whatever `setTimeout` globalThis has at the time (fake timers in tests):
    // a group per installed one, so a heartbeat left running under one never holds up the others.
    const key = clock === systemClock ? globalThis.setTimeout : clock;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { clock, set: [], at: Infinity }));
    if (group !== this.#group) {
      this.stop();
      this.#group = group;
      group.set.push(this);
    }
    this.#due = Math.max(at, now);
    Heartbeat.#armGroup(group);
  }

  /** Stops watching (leaves its group); no timer is left behind. Idempotent. */
  stop(): void {
    const group = this.#group;
    if (!group) return;
    const set = group.set;
    set[set.indexOf(this)] = set[set.length - 1] as Heartbeat;
    set.pop();
    this.#group = undefined;
    Heartbeat.#armGroup(group);
  }

  /** Arms the group's timer for its earliest deadline (once, after a batch that fires). */
  static #armGroup(group: Group): void {
    const { clock } = group;
    const now = clock.now();
    let at = Infinity;
    for (const hb of group.set) {
      // Further off than any deadline a heartbeat sets: set before the clock went back. Due now, so
      // it is judged on the new clock, not held up (by one set after the jump) until it catches up.
      if (hb.#due - now > hb.#intervalMs + hb.#o.timeoutMs) hb.#due = now;
      at = Math.min(at, hb.#due);
    }
    if (group.firing || at === group.at) return;
    clock.clearTimeout(group.timer); // a clock takes `undefined`, as clearTimeout does
    group.at = at;
    group.timer = at === Infinity ? undefined : clock.setTimeout(() => Heartbeat.#run(group), Math.max(0, at - now));
  }

  static #run(group: Group): void {
    const armedFor = group.at;
    group.timer = undefined;
    group.at = Infinity;
    const now = group.clock.now();
    // The timer came, but the clock reads well before its time: it was set back (by a user or
    // NTP), and every heartbeat judges the time itself.
    const limit = now + 1000 < armedFor ? Infinity : Math.max(now, armedFor);
    let failed: { error: unknown } | undefined;
    group.firing = true;
    for (const hb of group.set.filter((h) => h.#due <= limit)) {
      if (hb.#group !== group) continue; // stopped by one that fired before it
      hb.stop();
      try {
        hb.#fire();
      } catch (error) {
        failed ??= { error }; // the others still fire, as with a timer each
      }
    }
    group.firing = false;
    Heartbeat.#armGroup(group);
    if (failed) throw failed.error;
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
    const shift = Math.max(this.#lastInbound, this.#pingAt ?? -Infinity) - now;
    if (shift > 0) {
      this.#lastInbound -= shift;
      if (this.#pingAt !== undefined) this.#pingAt -= shift;
    }
    return now;
  }
}
