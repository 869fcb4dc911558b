/**
 * Server side of the heartbeat (PROTOCOL.md, "Heartbeat"): every inbound frame counts as liveness;
 * after `intervalMs` of silence the server pings once, and after `intervalMs + timeoutMs` of
 * silence the link is declared dead. Deadlines are computed from the wall clock, so one timer per
 * connection suffices and inbound traffic costs a single assignment.
 */
import type { HeartbeatSettings } from '../protocol/frames.js';
import type { Clock } from '../util/clock.js';
import { Timer } from '../util/clock.js';

export interface HeartbeatHooks {
  /** Send a ping frame. */
  ping(): void;
  /** Nothing arrived for interval + timeout: terminate the connection. */
  dead(): void;
}

export class ServerHeartbeat {
  readonly #clock: Clock;
  readonly #settings: HeartbeatSettings;
  readonly #hooks: HeartbeatHooks;
  readonly #timer: Timer;
  #lastHeard = 0;
  #pinged = false;

  constructor(clock: Clock, settings: HeartbeatSettings, hooks: HeartbeatHooks) {
    this.#clock = clock;
    this.#settings = settings;
    this.#hooks = hooks;
    this.#timer = new Timer(clock);
  }

  get running(): boolean {
    return this.#timer.pending;
  }

  /** Starts watching; counts from now. */
  start(): void {
    this.#lastHeard = this.#clock.now();
    this.#pinged = false;
    this.#schedule(this.#settings.intervalMs);
  }

  /** Something arrived from the peer. */
  touch(): void {
    this.#lastHeard = this.#clock.now();
    if (!this.#pinged) return;
    // The timer points at the death deadline; the next ping is due sooner.
    this.#pinged = false;
    if (this.#timer.pending) this.#schedule(this.#settings.intervalMs);
  }

  stop(): void {
    this.#timer.stop();
  }

  #schedule(ms: number): void {
    this.#timer.start(Math.max(ms, 1), () => this.#check());
  }

  #check(): void {
    const { intervalMs, timeoutMs } = this.#settings;
    const now = this.#clock.now();
    // A wall clock set back (an NTP step, a VM restored) puts the last frame in the future: count
    // the silence from now, or a dead link would stay connected until the clock caught up.
    if (now < this.#lastHeard) this.#lastHeard = now;
    const silentMs = now - this.#lastHeard;
    if (silentMs >= intervalMs + timeoutMs) {
      this.#hooks.dead();
      return;
    }
    if (silentMs < intervalMs) {
      this.#schedule(intervalMs - silentMs);
      return;
    }
    if (!this.#pinged) {
      this.#pinged = true;
      this.#hooks.ping();
    }
    this.#schedule(intervalMs + timeoutMs - silentMs);
  }
}
