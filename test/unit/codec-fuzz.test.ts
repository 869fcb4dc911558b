/**
 * Fuzzing the shared codec with 100,000+ random and mutated frames (test/helpers/frame-fuzz.ts):
 * `decodeFrame` never throws, every refusal is a `ProtocolError` with a documented close code, and
 * whatever it accepts is a well-formed frame that re-encodes to the same text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors/protocol.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';
import { describeFuzzed, fuzzedFrame, validFrame } from '../helpers/frame-fuzz.js';
import type { Fuzzed } from '../helpers/frame-fuzz.js';

/** Nesting depth of a JSON text (brackets outside strings); cheap enough for fuzz inputs. */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') max = Math.max(max, ++depth);
    else if (ch === ']' || ch === '}') depth--;
  }
  return max;
}

/** A plain assertion: `expect` costs more than the decode itself at 100,000 runs. */
function check(ok: boolean, what: string, input: Fuzzed): void {
  if (!ok) throw new Error(`${what}; input: ${describeFuzzed(input)}`);
}

/** The checks every decode must pass; returns what it decoded to, for the counts. */
function checkDecode(input: Fuzzed, limit?: number): 'frame' | 4400 | 4413 {
  const result = decodeFrame(input, limit === undefined ? undefined : { maxFrameChars: limit });
  if (result instanceof ProtocolError) {
    check(result.code === 'PROTOCOL', `error code ${result.code}`, input);
    check(result.closeCode === 4400 || result.closeCode === 4413, `close code ${result.closeCode}`, input);
    if (typeof input !== 'string') check(result.closeCode === 4400, 'bytes are 4400', input);
    else if (limit !== undefined && input.length > limit) check(result.closeCode === 4413, 'oversize is 4413', input);
    return result.closeCode as 4400 | 4413;
  }
  check(typeof input === 'string', 'accepted bytes', input);
  let wire: string;
  try {
    wire = encodeFrame(result);
  } catch (error) {
    // JSON.parse takes any depth; JSON.stringify runs out of stack past a few thousand levels.
    check(error instanceof RangeError && nesting(input as string) > 1000, `re-encoding threw ${String(error)}`, input);
    return 'frame';
  }
  check(encodeFrame(decodeFrame(wire) as Frame) === wire, 'round trip changed the frame', input);
  return 'frame';
}

describe('codec fuzzing', () => {
  it('survives 100,000 mutated frames: a frame or a ProtocolError (4400/4413), never a throw', () => {
    const seen = { frame: 0, 4400: 0, 4413: 0 };
    fc.assert(
      fc.property(fuzzedFrame, (input) => {
        seen[checkDecode(input)]++;
      }),
      { numRuns: 100_000 },
    );
    // The generator reaches both outcomes in quantity (a fuzzer that only makes garbage proves little).
    expect(seen.frame).toBeGreaterThan(10_000);
    expect(seen[4400]).toBeGreaterThan(30_000);
  }, 120_000);

  it('applies the size limit first: 10,000 frames against a 64-character limit', () => {
    const seen = { frame: 0, 4400: 0, 4413: 0 };
    fc.assert(
      fc.property(fuzzedFrame, (input) => {
        seen[checkDecode(input, 64)]++;
      }),
      { numRuns: 10_000 },
    );
    expect(seen[4413]).toBeGreaterThan(500);
  }, 30_000);

  it('never refuses a valid frame, and round-trips it exactly', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        const wire = encodeFrame(frame);
        check(encodeFrame(decodeFrame(wire) as Frame) === wire, 'round trip changed the frame', wire);
      }),
      { numRuns: 10_000 },
    );
  }, 30_000);
});
