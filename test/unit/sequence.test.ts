import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '../../src/errors/protocol.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import { AckScheduler, Inbox, Outbox } from '../../src/protocol/sequence.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import { systemClock } from '../../src/util/clock.js';

/** A clock that moves only when told to. */
class ManualClock implements Clock {
  #now = 0;
  #nextId = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#timers]
        .filter(([, t]) => t.at <= end)
        .sort(([ia, a], [ib, b]) => a.at - b.at || ia - ib)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }
}

describe('Outbox', () => {
  it('numbers frames from 1 and keeps their text until acknowledged', () => {
    const out = new Outbox();
    expect([out.nextSeq, out.lastSeq, out.size, out.pending()]).toEqual([1, 0, 0, []]);
    expect([out.record('a'), out.record('b'), out.record('c')]).toEqual([1, 2, 3]);
    expect([out.nextSeq, out.lastSeq, out.size, out.pending()]).toEqual([4, 3, 3, ['a', 'b', 'c']]);
  });

  it('drops everything up to a cumulative ack', () => {
    const out = new Outbox();
    ['a', 'b', 'c', 'd'].forEach((t) => out.record(t));
    expect(out.ack(2)).toBe(true);
    expect([out.size, out.pending()]).toEqual([2, ['c', 'd']]);
    expect(out.ack(4)).toBe(true);
    expect([out.size, out.pending(), out.nextSeq]).toEqual([0, [], 5]);
  });

  it('ignores stale and repeated acks', () => {
    const out = new Outbox();
    ['a', 'b', 'c'].forEach((t) => out.record(t));
    out.ack(2);
    expect([out.ack(2), out.ack(1), out.ack(0)]).toEqual([true, true, true]);
    expect(out.pending()).toEqual(['c']);
  });

  it('rejects an ack beyond the last number sent and changes nothing', () => {
    const empty = new Outbox();
    expect(empty.ack(1)).toBe(false);
    expect(empty.ack(0)).toBe(true);
    const out = new Outbox();
    ['a', 'b'].forEach((t) => out.record(t));
    expect(out.ack(3)).toBe(false);
    expect([out.size, out.pending()]).toEqual([2, ['a', 'b']]);
  });

  it('stays correct across compaction (more than 1024 acked)', () => {
    const out = new Outbox();
    for (let i = 1; i <= 3000; i++) out.record(`m${i}`);
    expect(out.ack(1500)).toBe(true);
    expect(out.size).toBe(1500);
    expect(out.pending()[0]).toBe('m1501');
    // One at a time across further compactions.
    for (let ack = 1501; ack <= 2800; ack++) {
      out.ack(ack);
      expect(out.size).toBe(3000 - ack);
    }
    expect(out.pending()).toEqual(Array.from({ length: 200 }, (_, i) => `m${2801 + i}`));
    expect(out.record('m3001')).toBe(3001);
    expect(out.ack(2999)).toBe(true);
    expect(out.pending()).toEqual(['m3000', 'm3001']);
    expect(out.ack(3002)).toBe(false);
    expect(out.ack(3001)).toBe(true);
    expect(out.size).toBe(0);
  });
});

describe('Inbox', () => {
  it('delivers the next number, drops duplicates, reports gaps', () => {
    const inbox = new Inbox();
    expect(inbox.delivered).toBe(0);
    expect(inbox.accept(1)).toBe('deliver');
    expect(inbox.accept(1)).toBe('duplicate');
    expect(inbox.accept(3)).toBe('gap');
    expect(inbox.delivered).toBe(1);
    expect(inbox.accept(2)).toBe('deliver');
    expect(inbox.accept(3)).toBe('deliver');
    expect(inbox.accept(2)).toBe('duplicate');
    expect(inbox.delivered).toBe(3);
  });

  it('continues from a known position (resumed session)', () => {
    const inbox = new Inbox(5);
    expect(inbox.accept(5)).toBe('duplicate');
    expect(inbox.accept(7)).toBe('gap');
    expect(inbox.accept(6)).toBe('deliver');
    expect(inbox.delivered).toBe(6);
  });
});

describe('AckScheduler', () => {
  function setup() {
    const clock = new ManualClock();
    const inbox = new Inbox();
    const sent: number[] = [];
    const acks = new AckScheduler({ clock, inbox, send: (ack) => sent.push(ack) });
    const deliver = (n: number): void => {
      for (let i = 0; i < n; i++) {
        expect(inbox.accept(inbox.delivered + 1)).toBe('deliver');
        acks.delivered();
      }
    };
    return { clock, inbox, sent, acks, deliver };
  }

  it('sends one ack after 64 deliveries, at once; the timer left running then sends nothing', () => {
    const { clock, sent, deliver } = setup();
    deliver(63);
    expect(sent).toEqual([]);
    deliver(1);
    expect(sent).toEqual([64]);
    clock.advance(1000);
    expect(sent).toEqual([64]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps one timer per delay, not one per ack, through a flood', () => {
    const { clock, sent, deliver } = setup();
    let started = 0;
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (fn, ms) => (started++, setTimeout(fn, ms));
    deliver(640);
    expect(sent).toEqual([64, 128, 192, 256, 320, 384, 448, 512, 576, 640]);
    expect(started).toBe(1);
    clock.advance(50);
    deliver(3);
    clock.advance(50);
    expect(sent.slice(10)).toEqual([643]);
    expect(started).toBe(2);
  });

  it('sends one ack 50 ms after the first of fewer deliveries', () => {
    const { clock, sent, deliver } = setup();
    deliver(3);
    clock.advance(30);
    deliver(2); // does not push the deadline back
    clock.advance(19);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual([5]);
    clock.advance(1000);
    expect(sent).toEqual([5]);
  });

  it('acks a batch of 64 at once and the rest after the delay', () => {
    const { clock, sent, deliver } = setup();
    deliver(70);
    expect(sent).toEqual([64]);
    clock.advance(50);
    expect(sent).toEqual([64, 70]);
  });

  it('flush sends what is owed now and cancels the timer; nothing owed sends nothing', () => {
    const { clock, sent, acks, deliver } = setup();
    acks.flush();
    expect(sent).toEqual([]);
    deliver(4);
    acks.flush();
    expect(sent).toEqual([4]);
    expect(clock.pendingTimers).toBe(0);
    acks.flush();
    clock.advance(100);
    expect(sent).toEqual([4]);
  });

  it('reset cancels the timer and takes the new position as acknowledged', () => {
    const { clock, sent, acks, deliver, inbox } = setup();
    deliver(5);
    acks.reset(inbox.delivered); // the peer learned it from hello/welcome
    clock.advance(100);
    expect(sent).toEqual([]);
    deliver(1);
    clock.advance(50);
    expect(sent).toEqual([6]);
  });

  it('after reset to a lower position, the next delivery re-acknowledges everything', () => {
    const { clock, sent, acks, deliver } = setup();
    deliver(5);
    acks.reset(0);
    deliver(1);
    clock.advance(50);
    expect(sent).toEqual([6]);
  });

  describe('on the system clock under fake timers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('acks after 50 ms', () => {
      vi.useFakeTimers();
      const inbox = new Inbox();
      const sent: number[] = [];
      const acks = new AckScheduler({ clock: systemClock, inbox, send: (ack) => sent.push(ack) });
      inbox.accept(1);
      acks.delivered();
      vi.advanceTimersByTime(49);
      expect(sent).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(sent).toEqual([1]);
    });
  });
});

// ---- The whole sequence/ack logic over a link that breaks ---------------------------------------

type Op =
  | { readonly kind: 'send'; readonly n: number }
  | { readonly kind: 'deliver'; readonly n: number }
  | { readonly kind: 'acks'; readonly n: number }
  | { readonly kind: 'tick'; readonly ms: number }
  /** The link drops: everything in flight is lost, a new connection resumes the session. */
  | { readonly kind: 'cut'; readonly senderAppliesAck: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), n: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constant('deliver' as const), n: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ kind: fc.constant('acks' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constant('cut' as const), senderAppliesAck: fc.boolean() }),
);

/** One sender and one receiver of a session, and the two directions of the current connection. */
class Session {
  readonly clock = new ManualClock();
  readonly outbox = new Outbox();
  readonly inbox = new Inbox();
  readonly received: unknown[] = [];
  toReceiver: string[] = [];
  toSender: number[] = [];
  readonly acks = new AckScheduler({ clock: this.clock, inbox: this.inbox, send: (ack) => this.toSender.push(ack) });
  #sent = 0;

  send(n: number): void {
    for (let i = 0; i < n; i++) {
      const text = encodeFrame({ type: 'event', seq: this.outbox.nextSeq, event: 'm', data: ++this.#sent });
      this.outbox.record(text);
      this.toReceiver.push(text);
    }
  }

  deliver(n: number): void {
    for (const text of this.toReceiver.splice(0, n)) {
      const frame = decodeFrame(text);
      if (frame instanceof ProtocolError || frame.type !== 'event') throw new Error(`bad frame ${text}`);
      const verdict = this.inbox.accept(frame.seq);
      expect(verdict).not.toBe('gap');
      if (verdict === 'deliver') {
        this.received.push(frame.data);
        this.acks.delivered();
      } else {
        // Drop the duplicate but acknowledge, so a sender that missed an ack learns.
        this.toSender.push(this.inbox.delivered);
      }
    }
  }

  deliverAcks(n: number): void {
    for (const ack of this.toSender.splice(0, n)) expect(this.outbox.ack(ack)).toBe(true);
  }

  /** hello.ack / welcome.ack carry `inbox.delivered`; the sender re-sends what is past it. */
  reconnect(senderAppliesAck: boolean): void {
    this.toReceiver = [];
    this.toSender = [];
    this.acks.reset(this.inbox.delivered);
    if (senderAppliesAck) expect(this.outbox.ack(this.inbox.delivered)).toBe(true);
    this.toReceiver = this.outbox.pending();
  }

  run(o: Op): void {
    if (o.kind === 'send') this.send(o.n);
    else if (o.kind === 'deliver') this.deliver(o.n);
    else if (o.kind === 'acks') this.deliverAcks(o.n);
    else if (o.kind === 'tick') this.clock.advance(o.ms);
    else this.reconnect(o.senderAppliesAck);
    // At every step the receiver holds exactly 1..k, in order.
    expect(this.received).toEqual(Array.from({ length: this.received.length }, (_, i) => i + 1));
  }

  get total(): number {
    return this.#sent;
  }
}

describe('sequence/ack logic over a lossy link', () => {
  it('delivers every message exactly once and in order, whatever the cut points', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const s = new Session();
        for (const o of ops) s.run(o);
        // Finally a connection that stays up long enough.
        s.reconnect(true);
        s.deliver(Infinity);
        s.clock.advance(50);
        s.deliverAcks(Infinity);
        expect(s.received).toEqual(Array.from({ length: s.total }, (_, i) => i + 1));
        expect(s.outbox.size).toBe(0);
        expect(s.outbox.lastSeq).toBe(s.total);
      }),
      { numRuns: 500 },
    );
  });
});
