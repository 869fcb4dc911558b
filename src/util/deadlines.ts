/**
 * Deadlines of many objects behind one armed timer per clock (a list sorted by due time). Every
 * open connection keeps its heartbeat deadline set for as long as it lives; with a timer each, an
 * idle client would hold a runtime timer object (in Node about 250 bytes) just for that.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** Something with one deadline at a time; `fire()` runs when it is due. */
export abstract class Deadline {
  /** When it is due (clock ms); `Infinity` when not set. Managed by its group. */
  dueAt = Infinity;
  group: Deadlines | undefined;

  abstract fire(): void;
}

export class Deadlines {
  readonly #clock: Clock;
  /** Sorted by `dueAt`; a deadline set again goes after those due at the same time. */
  readonly #list: Deadline[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  /** The clock's time when last read: a later read below it means the clock was set back. */
  #seen = -Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)schedules `d` at `at`, replacing its earlier deadline. */
  set(d: Deadline, at: number): void {
    d.group?.clear(d);
    this.#sync(this.#clock.now(), this.#seen);
    d.group = this;
    d.dueAt = at;
    this.#list.splice(this.#index(at, true), 0, d);
    this.#arm();
  }

  clear(d: Deadline): void {
    const list = this.#list;
    if (d.group !== this || d.dueAt === Infinity) return;
    list.splice(list.indexOf(d, this.#index(d.dueAt, false)), 1);
    d.dueAt = Infinity;
    this.#arm();
  }

  /** Where the entries due after `at` (or, not `after`, at `at` or later) start: a binary search. */
  #index(at: number, after: boolean): number {
    const list = this.#list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const due = (list[mid] as Deadline).dueAt;
      if (due < at || (after && due === at)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #run(): void {
    const armedFor = this.#timerAt;
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    // What this timer was armed for is due even if the wall clock was set back meanwhile: each
    // deadline's owner judges the time itself (the heartbeat does).
    const due = this.#list.splice(0, this.#index(Math.max(now, armedFor), true));
    this.#sync(now, Math.max(this.#seen, armedFor));
    for (const d of due) d.dueAt = Infinity;
    let failed: { error: unknown } | undefined;
    for (const d of due) {
      try {
        if (d.dueAt === Infinity && d.group === this) d.fire();
      } catch (error) {
        failed ??= { error }; // the others still fire, as with a timer each
      }
    }
    this.#arm();
    if (failed) throw failed.error;
  }

  /**
   * The clock reads `now` where `seen` was expected at least: set back (by a user or NTP), so every
   * deadline moves back as far, keeping each as far ahead as it was.
   */
  #sync(now: number, seen: number): void {
    const back = seen - now;
    if (back > 0) for (const d of this.#list) d.dueAt -= back;
    this.#seen = now;
  }

  #arm(): void {
    const at = this.#list[0]?.dueAt ?? Infinity;
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
