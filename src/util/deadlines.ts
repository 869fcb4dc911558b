/**
 * Deadlines of many objects behind one armed timer per clock (a binary heap by due time). Every
 * open connection keeps its heartbeat deadline armed for as long as it lives; with a timer each,
 * an idle client would hold a runtime timer object (in Node about 250 bytes) just for that.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';

/** Something with one deadline at a time; `fire()` runs when it is due. */
export abstract class Deadline {
  /** When it is due (clock ms); managed by its group. */
  dueAt = 0;
  /** Its place in the group's heap, -1 when not scheduled. */
  slot = -1;
  group: Deadlines | undefined;

  abstract fire(): void;
}

export class Deadlines {
  readonly #clock: Clock;
  readonly #heap: Deadline[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  /** The clock's time when last read: a later read below it means the clock was set back. */
  #seen = -Infinity;
  #firing = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)schedules `d` at `at`, replacing its earlier deadline. */
  set(d: Deadline, at: number): void {
    if (d.group !== this) d.group?.clear(d);
    else if (d.slot >= 0) this.#remove(d);
    this.#sync(this.#clock.now(), this.#seen);
    d.group = this;
    d.dueAt = at;
    this.#up(this.#heap.push(d) - 1, d);
    this.#arm();
  }

  clear(d: Deadline): void {
    if (d.group !== this || d.slot < 0) return;
    this.#remove(d);
    this.#arm();
  }

  #run(): void {
    const armedFor = this.#timerAt;
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    // What this timer was armed for is due even if the wall clock was set back meanwhile: each
    // deadline's owner judges the time itself (the heartbeat does).
    const due: Deadline[] = [];
    for (let top = this.#heap[0]; top && top.dueAt <= Math.max(now, armedFor); top = this.#heap[0]) {
      this.#remove(top);
      due.push(top);
    }
    this.#sync(now, Math.max(this.#seen, armedFor));
    // One re-arm after the whole batch; a deadline set again while firing waits for the next timer.
    this.#firing = true;
    let failed: { error: unknown } | undefined;
    for (const d of due) {
      try {
        if (d.slot < 0 && d.group === this) d.fire();
      } catch (error) {
        failed ??= { error }; // the others still fire, as with a timer each
      }
    }
    this.#firing = false;
    this.#arm();
    if (failed) throw failed.error;
  }

  /**
   * The clock reads `now` where `seen` was expected at least: set back (by a user or NTP), so every
   * deadline moves back as far, keeping each as far ahead as it was (the order does not change).
   */
  #sync(now: number, seen: number): void {
    const back = seen - now;
    if (back > 0) for (const d of this.#heap) d.dueAt -= back;
    this.#seen = now;
  }

  #arm(): void {
    const at = this.#heap[0]?.dueAt ?? Infinity;
    if (this.#firing || at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at !== Infinity) this.#timer = this.#clock.setTimeout(() => this.#run(), Math.max(0, at - this.#clock.now()));
  }

  #remove(d: Deadline): void {
    const heap = this.#heap;
    const last = heap.pop() as Deadline;
    const i = d.slot;
    d.slot = -1;
    if (last === d) return;
    heap[i] = last;
    this.#down(i, last);
    this.#up(last.slot, last);
  }

  #up(i: number, d: Deadline): void {
    const heap = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Deadline;
      if (parent.dueAt <= d.dueAt) break;
      heap[i] = parent;
      parent.slot = i;
      i = p;
    }
    heap[i] = d;
    d.slot = i;
  }

  #down(i: number, d: Deadline): void {
    const heap = this.#heap;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= heap.length) break;
      if (c + 1 < heap.length && (heap[c + 1] as Deadline).dueAt < (heap[c] as Deadline).dueAt) c++;
      const child = heap[c] as Deadline;
      if (child.dueAt >= d.dueAt) break;
      heap[i] = child;
      child.slot = i;
      i = c;
    }
    heap[i] = d;
    d.slot = i;
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
