/**
 * Deadlines of many objects behind one armed timer per clock. Every open connection keeps its
 * heartbeat deadline set for as long as it lives; with a timer each, an idle client would hold a
 * runtime timer object (in Node about 250 bytes) just for that. Setting one scans the group for
 * the earliest (a page has one client; a Node process with thousands re-arms each one every
 * interval, which this still does in microseconds).
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** Something with one deadline at a time; `fire()` runs when it is due. */
export abstract class Deadline {
  /** When it is due (clock ms). Managed by its group. */
  dueAt = Infinity;
  /** The group it is set in, if it is. */
  group: Deadlines | undefined;

  abstract fire(): void;
}

export class Deadlines {
  readonly #clock: Clock;
  readonly #set: Deadline[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #firing = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)sets `d` at `at`, replacing its earlier deadline. */
  set(d: Deadline, at: number): void {
    if (d.group !== this) {
      d.group?.clear(d);
      d.group = this;
      this.#set.push(d);
    }
    d.dueAt = at;
    this.#arm();
  }

  clear(d: Deadline): void {
    const set = this.#set;
    const i = d.group === this ? set.indexOf(d) : -1;
    if (i < 0) return;
    set[i] = set[set.length - 1] as Deadline;
    set.pop();
    d.group = undefined;
    this.#arm();
  }

  #run(): void {
    const armedFor = this.#timerAt;
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    // The timer came, but the clock reads well before its time: it was set back (by a user or
    // NTP). Every deadline's owner then judges the time itself (the heartbeat does).
    const limit = now + 1000 < armedFor ? Infinity : Math.max(now, armedFor);
    const due = this.#set.filter((d) => d.dueAt <= limit);
    let failed: { error: unknown } | undefined;
    this.#firing = true;
    for (const d of due) {
      if (d.group !== this) continue; // cleared by one fired before it
      this.clear(d);
      try {
        d.fire();
      } catch (error) {
        failed ??= { error }; // the others still fire, as with a timer each
      }
    }
    this.#firing = false;
    this.#arm();
    if (failed) throw failed.error;
  }

  #arm(): void {
    if (this.#firing) return; // once, after the batch
    let at = Infinity;
    for (const d of this.#set) if (d.dueAt < at) at = d.dueAt;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer =
      at === Infinity ? undefined : this.#clock.setTimeout(() => this.#run(), Math.max(0, at - this.#clock.now()));
  }
}

const groups = new WeakMap<object, Deadlines>();

/**
 * The group of `clock`. `systemClock` uses whatever `setTimeout` globalThis has at the time (fake
 * timers in tests), so it gets a group per installed `setTimeout`: deadlines left running under
 * one never hold up those scheduled under another.
 */
export function deadlinesOf(clock: Clock): Deadlines {
  const key = clock === systemClock ? globalThis.setTimeout : clock;
  let group = groups.get(key);
  if (!group) groups.set(key, (group = new Deadlines(clock)));
  return group;
}
