import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, QueueFullError } from '../../src/errors/index.js';
import { OutboundLog, dataJsonOf, type OutboundLimits } from '../../src/client/outbound.js';
import { Inbox } from '../../src/protocol/sequence.js';

const roomy: OutboundLimits = { maxMessages: 1000, maxBytes: 1 << 20, overflow: 'drop-oldest' };
const msg = (n: number, extra: object = {}) => ({ event: 'm', data: n, queuedAt: 0, ...extra });
/** What the client does to transmit: takes the queued entries, then marks them on the wire. */
const transmit = (log: OutboundLog) => {
  const batch = log.takeQueued();
  if (batch.length > 0) log.sent(batch.at(-1)!.seq);
  return batch;
};

describe('OutboundLog', () => {
  it('numbers entries on append and hands the queued ones out once, in order', () => {
    const log = new OutboundLog(roomy);
    log.append(msg(1));
    log.append(msg(2));
    expect(log.queued).toBe(2);
    expect(transmit(log).map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(log.takeQueued()).toEqual([]);
    expect([log.queued, log.all().length]).toEqual([0, 2]);
    expect(log.ack(1)).toBe(true);
    expect(log.all().map((e) => e.seq)).toEqual([2]);
    expect(log.ack(5)).toBe(false);
  });

  it('keeps the JSON of each message from its size check for the wire, never in a snapshot', () => {
    const log = new OutboundLog(roomy);
    const data = { n: 1 };
    log.append({ event: 'm', data, queuedAt: 0 });
    log.append({ event: 'm', data: undefined, queuedAt: 0 });
    data.n = 2; // what was checked is what goes out
    const [withData, without] = log.takeQueued();
    expect(dataJsonOf(withData!)).toBe('{"n":1}');
    expect(dataJsonOf(without!)).toBeUndefined();
    expect(JSON.parse(JSON.stringify(log.snapshot())).entries[0]).toEqual({
      event: 'm',
      data: { n: 2 },
      queuedAt: 0,
      seq: 1,
    });
    expect(structuredClone(log.snapshot()).entries[0]).toEqual({ event: 'm', data: { n: 2 }, queuedAt: 0, seq: 1 });
  });

  it('sends a message straight out only when nothing is queued before it, whatever the (offline) bounds', () => {
    const log = new OutboundLog(roomy);
    const first = log.appendTransmitted(msg(1));
    expect([first?.seq, log.queued, log.all().length]).toEqual([1, 0, 1]);
    expect(dataJsonOf(first!)).toBe('1');
    log.append(msg(2)); // queued (offline)
    expect(log.appendTransmitted(msg(3))).toBeUndefined(); // would overtake #2
    expect(log.takeQueued().map((e) => e.seq)).toEqual([2]);
    expect(log.appendTransmitted(msg(3))?.seq).toBe(3);
    expect(log.ack(3)).toBe(true); // in flight like any transmitted entry
    expect(log.all()).toEqual([]);
    const big = { event: 'm', data: 'x'.repeat(100), queuedAt: 0 };
    expect(new OutboundLog({ ...roomy, maxBytes: 50 }).appendTransmitted(big)?.seq).toBe(1);
    expect(new OutboundLog({ ...roomy, maxMessages: 0 }).appendTransmitted(msg(1))?.seq).toBe(1);
    // Through `append` (a store to write first), transmitted at once: not bounded either.
    const online = new OutboundLog({ ...roomy, maxMessages: 0, overflow: 'error' });
    expect(online.append(msg(1), true)).toEqual([]);
    expect(online.takeQueued().map((e) => e.seq)).toEqual([1]);
    expect(() => online.append(msg(2))).toThrow(QueueFullError); // offline: the bound holds
    expect(() => log.appendTransmitted({ event: 'm', data: 1n, queuedAt: 0 })).toThrow(InvalidArgumentError);
    expect(log.all()).toEqual([]);
  });

  it('re-sends everything past the ack after a resume', () => {
    const log = new OutboundLog(roomy);
    for (let i = 1; i <= 4; i++) log.append(msg(i));
    transmit(log);
    expect(log.resume(2)).toBe(true);
    expect(log.takeQueued().map((e) => e.seq)).toEqual([3, 4]);
  });

  it('on a new session reports what may have arrived and renumbers what never left', () => {
    const log = new OutboundLog(roomy);
    log.append(msg(1));
    log.append(msg(2));
    transmit(log);
    log.append(msg(3));
    const unconfirmed = log.newSession();
    expect(unconfirmed.map((e) => e.data)).toEqual([1, 2]);
    expect(log.takeQueued().map((e) => [e.seq, e.data])).toEqual([[1, 3]]);
  });

  it('applies drop-oldest, drop-newest and error to queued entries only, without gaps', () => {
    const oldest = new OutboundLog({ ...roomy, maxMessages: 2 });
    oldest.append(msg(1));
    oldest.takeQueued(); // in flight: not droppable
    oldest.append(msg(2));
    oldest.append(msg(3));
    expect(oldest.append(msg(4)).map((e) => e.data)).toEqual([2]);
    expect(oldest.all().map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 3],
      [3, 4],
    ]);
    const newest = new OutboundLog({ ...roomy, maxMessages: 1, overflow: 'drop-newest' });
    newest.append(msg(1));
    expect(newest.append(msg(2))).toEqual([expect.objectContaining({ data: 2, seq: 0 })]);
    const strict = new OutboundLog({ ...roomy, maxMessages: 1, overflow: 'error' });
    strict.append(msg(1));
    expect(() => strict.append(msg(2))).toThrow(QueueFullError);
  });

  it('bounds the queue by size and refuses data that cannot be sent', () => {
    const log = new OutboundLog({ ...roomy, maxBytes: 60 });
    log.append(msg(1, { data: 'x'.repeat(30) }));
    expect(log.append(msg(2, { data: 'y'.repeat(30) })).map((e) => e.data)).toEqual(['x'.repeat(30)]);
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => log.append(msg(0, { data: cyclic }))).toThrow(InvalidArgumentError);
    expect(() => log.append(msg(0, { data: 1n }))).toThrow(InvalidArgumentError);
    expect(() => new OutboundLog(roomy).append(msg(0, { data: 'z'.repeat(2 << 20) }))).toThrow(InvalidArgumentError);
  });

  it('expires queued entries by TTL and withdraws queued requests, renumbering the rest', () => {
    const log = new OutboundLog(roomy);
    log.append(msg(1, { expiresAt: 100 }));
    log.append(msg(2, { requestId: 7 }));
    log.append(msg(3, { expiresAt: 500 }));
    expect(log.nextExpiry()).toBe(100);
    expect(log.expire(100).map((e) => e.data)).toEqual([1]);
    log.removeRequest(7);
    expect(log.takeQueued().map((e) => [e.seq, e.data])).toEqual([[1, 3]]);
  });

  it('gives a snapshot that stays as it was while the log goes on (an asynchronous store reads it later)', () => {
    const log = new OutboundLog(roomy);
    log.append(msg(1));
    const snap = log.snapshot();
    const then = JSON.stringify(snap);
    log.append(msg(2));
    log.takeQueued();
    log.ack(1);
    log.restore({ v: 1, nextSeq: 8, sentUpTo: 0, acked: 0, entries: [] }); // renumbers what was queued
    expect(JSON.stringify(snap)).toBe(then);
  });

  it('restores a snapshot in front of what this page appended since', () => {
    const before = new OutboundLog(roomy);
    before.append(msg(1));
    before.append(msg(2));
    before.takeQueued();
    before.append(msg(3));
    const after = new OutboundLog(roomy);
    after.append(msg(4));
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    expect(after.queued).toBe(2); // 3 and 4; 1 and 2 may have reached the server
    expect(after.resume(0)).toBe(true); // the welcome: the server has none of them
    expect(after.takeQueued().map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });

  it('after a reload, never expires, drops or renumbers what the last page transmitted before the welcome', () => {
    const before = new OutboundLog(roomy);
    before.append(msg(1, { expiresAt: 10 }));
    before.append(msg(2, { expiresAt: 10 }));
    before.takeQueued(); // on the wire; the server may have them
    before.append(msg(3, { expiresAt: 10 }));
    const after = new OutboundLog({ ...roomy, maxMessages: 1 });
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    expect(after.expire(20).map((e) => e.seq)).toEqual([3]); // only the never-transmitted one
    expect(after.append(msg(4)).map((e) => e.seq)).toEqual([]); // the queue holds 1: #4 alone
    expect(after.all().map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
    expect(after.resume(1)).toBe(true); // the server had #1
    expect(after.takeQueued().map((e) => [e.seq, e.data])).toEqual([
      [2, 2],
      [3, 4],
    ]);
  });

  it('delivers every message exactly once and in order across random cuts, drops and reloads (property)', () => {
    const step = fc.oneof(
      fc.constant('send' as const),
      fc.constant('send-online' as const),
      fc.constant('transmit' as const),
      fc.constant('cut' as const),
      fc.constant('reload' as const),
      fc.constant('ack' as const),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.array(fc.boolean(), { maxLength: 120 }), (steps, losses) => {
        let log = new OutboundLog(roomy);
        const server = new Inbox();
        const got: unknown[] = [];
        let sent = 0;
        let wire: { seq: number; data: unknown }[] = [];
        let cuts = 0;
        // A live link loses nothing (TCP); a cut loses whatever was still on the wire past some point.
        const deliverWire = (cut: boolean) => {
          for (const f of wire) {
            if (cut && losses[cuts++ % Math.max(1, losses.length)]) break;
            const v = server.accept(f.seq);
            if (v === 'gap') throw new Error(`gap at ${f.seq}`);
            if (v === 'deliver') got.push(f.data);
          }
          wire = [];
        };
        for (const s of steps) {
          if (s === 'send') log.append(msg(++sent));
          if (s === 'send-online') {
            // What Outgoing does on an open link: straight out when nothing is queued, else queued.
            const item = msg(++sent);
            const e = log.appendTransmitted(item);
            if (e) wire.push({ seq: e.seq, data: e.data });
            else log.append(item);
          }
          if (s === 'transmit') wire.push(...transmit(log).map((e) => ({ seq: e.seq, data: e.data })));
          if (s === 'ack') {
            deliverWire(false);
            log.ack(server.delivered);
          }
          if (s === 'cut' || s === 'reload') {
            deliverWire(true);
            if (s === 'reload') {
              const snap = JSON.parse(JSON.stringify(log.snapshot()));
              log = new OutboundLog(roomy);
              log.restore(snap);
            }
            expect(log.resume(server.delivered)).toBe(true);
          }
        }
        wire.push(...transmit(log).map((e) => ({ seq: e.seq, data: e.data })));
        deliverWire(false);
        expect(got).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
      }),
      { numRuns: 500 },
    );
  });
});
