/**
 * Frame sizes across the units the two sides count: the client checks what it sends in UTF-8
 * bytes (the server's `maxFrameBytes` and long-polling body limit count bytes), the server checks
 * what it sends in UTF-16 code units (what a client decodes). payload-edges.test.ts runs the same
 * edges end to end.
 */
import { describe, expect, it } from 'vitest';
import { OutboundLog, type OutboundLimits } from '../../src/client/outbound.js';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { encodeBatch } from '../../src/protocol/batch.js';
import { decodeFrame, encodeWithDataJson, MAX_FRAME_CHARS } from '../../src/protocol/codec.js';
import { assertBroadcastFits, encodeEvent } from '../../src/server/outgoing.js';
import { encodeResponse } from '../../src/server/requests.js';

const MiB = 1 << 20;
const roomy: OutboundLimits = { maxMessages: 10, maxBytes: 4 * MiB, overflow: 'error' };
const bytes = (text: string): number => new TextEncoder().encode(text).length;

describe('client: what send() accepts fits the server (1 MiB as UTF-8)', () => {
  /** The largest string of `unit` the log accepts as data of `event`. */
  const largest = (event: string, unit: string): string => {
    let [lo, hi] = [0, MiB];
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      try {
        new OutboundLog(roomy).append({ event, data: unit.repeat(mid), queuedAt: 0 });
        lo = mid;
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        hi = mid - 1;
      }
    }
    return unit.repeat(lo);
  };

  it.each([
    ['ASCII', 'a', 'x'],
    ['3-byte', '€', 'x'],
    ['4-byte', '😀', 'x'],
    ['escaped', '\u0000', 'x'],
    ['3-byte, longest name of escapes', '€', '\u0001'.repeat(256)],
  ])(
    '%s: the largest accepted is within 72 bytes of 1 MiB, and its frame, as a request with 16-digit numbers alone in a long-polling body, is not over it',
    (_, unit, event) => {
      const data = largest(event, unit);
      const wire = encodeBatch([encodeWithDataJson(2 ** 53 - 1, event, JSON.stringify(data), 2 ** 53 - 1)]);
      expect(bytes(wire)).toBeLessThanOrEqual(MiB);
      expect(bytes(wire)).toBeGreaterThan(MiB - 48 - 6 * 4); // one unit more would be refused
    },
  );

  it('restores what a client that counted code units stored (400,000 €): checked when appended, not again, and nothing of this page is lost', () => {
    const log = new OutboundLog(roomy);
    log.append({ event: 'x', data: 'appended before the load', queuedAt: 0 });
    const big = '€'.repeat(400_000);
    const entries = [{ event: 'x', data: big, queuedAt: 0, seq: 1 }];
    expect(() => log.restore({ v: 1, nextSeq: 2, sentUpTo: 0, acked: 0, entries })).not.toThrow();
    expect(log.all().map((e) => [e.seq, e.data])).toEqual([
      [1, big],
      [2, 'appended before the load'],
    ]);
  });

  it('refuses 400,000 € (400,000 code units, 1.2 MB) at once, offline or online', () => {
    const data = '€'.repeat(400_000);
    expect(data.length).toBeLessThan(MAX_FRAME_CHARS);
    expect(() => new OutboundLog(roomy).append({ event: 'x', data, queuedAt: 0 })).toThrow(InvalidArgumentError);
    expect(() => new OutboundLog(roomy).appendTransmitted({ event: 'x', data, queuedAt: 0 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('server: what send(), broadcast() and responses emit fits the client (1,048,576 code units)', () => {
  const fitting = (overhead: number): string => 'é'.repeat(MAX_FRAME_CHARS - overhead);

  it('session.send: the largest frame it takes decodes on the client; one code unit more throws', () => {
    const text = encodeEvent(9, 'x', fitting(14)); // ["e",9,"x","…"]
    expect(text.length).toBe(MAX_FRAME_CHARS);
    expect(decodeFrame(text)).toMatchObject({ type: 'event', event: 'x' });
    expect(() => encodeEvent(9, 'x', fitting(13))).toThrow(InvalidArgumentError);
    expect(() => encodeEvent(9, 'x', 1n)).toThrow(InvalidArgumentError);
  });

  it('broadcast: refuses what send() would refuse for a 16-digit seq, before any session gets it', () => {
    expect(() => assertBroadcastFits('x', JSON.stringify(fitting(40)))).not.toThrow();
    expect(() => assertBroadcastFits('x', JSON.stringify(fitting(11)))).toThrow(InvalidArgumentError);
    const seq = 2 ** 53 - 1;
    expect(encodeWithDataJson(seq, 'x', JSON.stringify(fitting(40))).length).toBeLessThanOrEqual(MAX_FRAME_CHARS);
  });

  it('a response too large for the client becomes HANDLER_ERROR, with the reason for the error event', () => {
    const big = encodeResponse(3, 7, { ok: true, data: fitting(0) });
    expect(decodeFrame(big.text)).toMatchObject({
      type: 'response',
      id: 7,
      ok: false,
      error: { code: 'HANDLER_ERROR', message: 'response too large for the client' },
    });
    expect(big.encodeError).toBeInstanceOf(InvalidArgumentError);
    const failed = encodeResponse(3, 7, {
      ok: false,
      error: { code: 'E', message: 'é'.repeat(MiB) },
      unexpected: false,
    });
    expect(decodeFrame(failed.text)).toMatchObject({ ok: false, error: { code: 'HANDLER_ERROR' } });
    expect(encodeResponse(3, 7, { ok: true, data: fitting(16) }).encodeError).toBeUndefined();
  });
});
