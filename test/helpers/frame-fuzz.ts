/**
 * Random and mutated protocol frames for fuzzing the codec, the client and the server: valid
 * frames of every type, then the mutations a hostile or broken peer produces (truncation, type
 * swaps, huge and fractional numbers, sequence jumps, reserved names, deep nesting, odd unicode,
 * binary data, extra or missing elements, wrong tags and shapes).
 */
import fc from 'fast-check';
import { encodeFrame } from '../../src/protocol/codec.js';
import { RESERVED_EVENTS, SESSION_EVENTS } from '../../src/protocol/frames.js';
import type { Frame } from '../../src/protocol/frames.js';

/** What a fuzzer sends: text, or bytes (a binary message, or a text message that is not UTF-8). */
export type Fuzzed = string | Uint8Array;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const jsonData = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const optData = fc.option(jsonData, { nil: undefined });
const smallSeq = fc.integer({ min: 1, max: 40 });
const seq = fc.oneof(
  { weight: 4, arbitrary: smallSeq },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_SAFE }) },
);
const count = fc.oneof({ weight: 4, arbitrary: fc.nat(40) }, { weight: 1, arbitrary: fc.maxSafeNat() });
const text = fc.oneof(fc.string({ maxLength: 24 }), fc.string({ unit: 'binary', maxLength: 12 }));
const name = fc.oneof(
  fc.constantFrom('chat', 'n', 'tick', 'work'),
  fc.string({ minLength: 1, maxLength: 24 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);
const ts = fc.oneof(
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
);

/** Valid frames of every type (either direction): the seeds of every mutation. */
export const validFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    { type: fc.constant('hello' as const), v: fc.constantFrom(1, 1, 2), ack: count, auth: text, resume: text },
    { requiredKeys: ['type', 'v', 'ack'] },
  ),
  fc.record({
    type: fc.constant('welcome' as const),
    v: fc.constantFrom(1, 1, 0, 2),
    sid: text,
    resume: text,
    resumed: fc.boolean(),
    ack: count,
    hb: fc.record({ intervalMs: count, timeoutMs: count }),
  }),
  fc.record({ type: fc.constant('event' as const), seq, event: name, data: optData }),
  fc.record({ type: fc.constant('request' as const), seq, id: seq, event: name, data: optData }),
  fc.record({ type: fc.constant('response' as const), seq, id: seq, ok: fc.constant(true as const), data: optData }),
  fc.record({
    type: fc.constant('response' as const),
    seq,
    id: seq,
    ok: fc.constant(false as const),
    error: fc.record({ code: text, message: text }),
  }),
  fc.record({ type: fc.constant('ack' as const), ack: count }),
  fc.record({ type: fc.constant('ping' as const), ts }),
  fc.record({ type: fc.constant('pong' as const), ts }),
  fc.record({ type: fc.constant('close' as const), code: fc.integer({ min: 1000, max: 4999 }), reason: text }),
);

/** Values of the wrong type or out of range for any field. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    2 ** 53,
    2 ** 53 + 2,
    -1,
    0,
    1.5,
    -0.5,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    '',
    '1',
    'h',
    true,
    false,
    null,
    {},
    [],
    [1, 2],
    { v: 1, ack: 0 },
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text,
);

/** Strings that trip naive handling: lone surrogates, NUL, BOM, bidi overrides, long emoji runs. */
const oddUnicode = fc.constantFrom(
  '\uD800',
  '\uDC00x',
  'a\uD83D',
  '\u0000',
  '\uFEFF',
  '\u202Eevil',
  '😀'.repeat(200),
  'e\u0301',
  '\uFFFF',
  '\u2028\u2029',
);

function wireOf(frame: Frame): unknown[] {
  return JSON.parse(encodeFrame(frame)) as unknown[];
}

function replaceAt(wire: unknown[], index: number, value: unknown): string {
  const copy = [...wire];
  copy[Math.min(index, copy.length - 1)] = value;
  return JSON.stringify(copy);
}

/** `depth` nested arrays as the last element: JSON.parse takes any depth, JSON.stringify does not. */
function deep(wire: unknown[], depth: number): string {
  const head = JSON.stringify(wire.slice(0, Math.max(1, wire.length - 1)));
  return `${head.slice(0, -1)},${'['.repeat(depth)}${']'.repeat(depth)}]`;
}

/** One mutation's random inputs, drawn up front so no arbitrary is built per frame (fast). */
interface Dice {
  readonly kind: number;
  readonly n: number;
  readonly value: unknown;
  readonly unicode: string;
  readonly bytes: Uint8Array;
  readonly garbage: string;
}

const BIG_LITERALS = ['1e400', '-1e400', '1e-400', '-0', '9007199254740993'];
const TAGS = ['H', 'x', '', 'hh', 'é', 'E', '\u0000'];
const RESERVED: readonly string[] = [...RESERVED_EVENTS, ...SESSION_EVENTS, '__proto__', 'constructor'];

/** The mutations, by `kind`: each turns a valid frame's wire array into what a broken peer sends. */
const MUTATIONS: readonly ((wire: unknown[], text: string, d: Dice) => Fuzzed)[] = [
  (_w, text) => text, // unchanged: valid in some states, out of place in others
  (_w, text, d) => text.slice(0, d.n % Math.max(1, text.length)), // truncated
  (w, _t, d) => replaceAt(w, d.n % w.length, d.value), // a type swap or an out-of-range value
  (w, _t, d) => {
    const parts = w.map((v) => JSON.stringify(v));
    parts[Math.max(1, d.n % parts.length)] = BIG_LITERALS[d.n % BIG_LITERALS.length] as string;
    return `[${parts.join(',')}]`;
  },
  (w, text, d) => (typeof w[1] === 'number' ? replaceAt(w, 1, w[1] + 2 + (d.n % 2 ** 40)) : text), // seq jump
  (w, _t, d) => {
    const name = RESERVED[d.n % RESERVED.length] as string;
    const s = 1 + (d.n % 40);
    return JSON.stringify(w[0] === 'q' ? ['q', s, s, name, 1] : ['e', s, name, 1]);
  },
  (w, _t, d) => deep(w, 64 + (d.n % 8_000)), // nesting past what JSON.stringify can take
  (w, _t, d) => replaceAt(w, d.n % w.length, d.unicode),
  (w, _t, d) => JSON.stringify([...w, d.value]), // an element too many
  (w) => JSON.stringify(w.slice(0, -1)), // one too few
  (w, _t, d) => JSON.stringify([TAGS[d.n % TAGS.length], ...w.slice(1)]),
  (w, text, d) =>
    [
      JSON.stringify([w]),
      JSON.stringify({ 0: w[0], 1: w[1] }),
      JSON.stringify(w[1] ?? null),
      '',
      ' ',
      'null',
      '[]',
      '[[]]',
      '"e"',
      `  ${text}  `,
      `${text}${text}`,
    ][d.n % 11] as string,
  (_w, _t, d) => d.bytes, // binary
  (_w, text) => new TextEncoder().encode(text), // binary, but a valid frame inside
  (_w, _t, d) => d.garbage,
];

const dice: fc.Arbitrary<Dice> = fc.record({
  kind: fc.nat(MUTATIONS.length - 1),
  n: fc.nat(),
  value: nasty,
  unicode: oddUnicode,
  bytes: fc.uint8Array({ maxLength: 64 }),
  garbage: fc.string({ maxLength: 64 }),
});

/** A random valid frame, mutated (or left as is, now and then). */
export const fuzzedFrame: fc.Arbitrary<Fuzzed> = fc.tuple(validFrame, dice).map(([frame, d]) => {
  const wire = wireOf(frame);
  return (MUTATIONS[d.kind] as (typeof MUTATIONS)[number])(wire, JSON.stringify(wire), d);
});

/** `n` fuzzed frames from a fixed seed: the same run every time, so a failure reproduces. */
export function sampleFrames(n: number, seed: number): Fuzzed[] {
  return fc.sample(fuzzedFrame, { numRuns: n, seed });
}

/** A short human-readable form of a fuzzed frame for failure messages. */
export function describeFuzzed(f: Fuzzed): string {
  const s = typeof f === 'string' ? JSON.stringify(f) : `bytes[${f.length}]`;
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} chars)` : s;
}
