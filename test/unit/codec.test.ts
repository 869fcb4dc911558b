import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors/protocol.js';
import { TimeoutError } from '../../src/errors/timeout.js';
import {
  CLIENT_FRAMES,
  decodeFrame,
  decodeFrameOf,
  decodeFrames,
  DEFAULT_LIMITS,
  encodeFrame,
  encodeWithDataJson,
  SERVER_FRAMES,
} from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';
import { decodeMessage } from '../helpers/decode.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const hb = { intervalMs: 20_000, timeoutMs: 10_000 };

function expectFrame(result: Frame | ProtocolError): Frame {
  if (result instanceof ProtocolError) throw new Error(`expected a frame, got ProtocolError: ${result.message}`);
  return result;
}

function expectError(result: Frame | Frame[] | ProtocolError): ProtocolError {
  if (!(result instanceof ProtocolError)) throw new Error(`expected a ProtocolError, got ${JSON.stringify(result)}`);
  return result;
}

describe('encodeFrame: the documented wire layout (PROTOCOL.md)', () => {
  const cases: ReadonlyArray<readonly [string, Frame, string]> = [
    ['hello, new session', { type: 'hello', v: 1, ack: 0 }, '["h",{"v":1,"ack":0}]'],
    [
      'hello, resume',
      { type: 'hello', v: 1, ack: 7, auth: 'tok', resume: 'r1' },
      '["h",{"v":1,"ack":7,"auth":"tok","resume":"r1"}]',
    ],
    [
      'welcome',
      { type: 'welcome', v: 1, sid: 's1', resume: 'r1', resumed: true, ack: 3, hb },
      '["w",{"v":1,"sid":"s1","resume":"r1","resumed":true,"ack":3,"hb":[20000,10000]}]',
    ],
    ['event with data', { type: 'event', seq: 1, event: 'chat', data: { text: 'hi' } }, '["e",1,"chat",{"text":"hi"}]'],
    ['event without data', { type: 'event', seq: 2, event: 'tick', data: undefined }, '["e",2,"tick"]'],
    ['event with null data', { type: 'event', seq: 3, event: 'tick', data: null }, '["e",3,"tick",null]'],
    [
      'request with data',
      { type: 'request', seq: 4, id: 9, event: 'join', data: { room: 'a' } },
      '["q",4,9,"join",{"room":"a"}]',
    ],
    ['request without data', { type: 'request', seq: 5, id: 10, event: 'who', data: undefined }, '["q",5,10,"who"]'],
    ['response ok with data', { type: 'response', seq: 1, id: 9, ok: true, data: [1, 2] }, '["r",1,9,1,[1,2]]'],
    ['response ok without data', { type: 'response', seq: 2, id: 10, ok: true, data: undefined }, '["r",2,10,1]'],
    [
      'response error',
      { type: 'response', seq: 3, id: 11, ok: false, error: { code: 'NO_HANDLER', message: 'no handler for "x"' } },
      '["r",3,11,0,{"code":"NO_HANDLER","message":"no handler for \\"x\\""}]',
    ],
    ['ack', { type: 'ack', ack: 64 }, '["a",64]'],
    ['ping', { type: 'ping', ts: 1718000000000 }, '["p",1718000000000]'],
    ['pong', { type: 'pong', ts: 12.5 }, '["o",12.5]'],
    ['close', { type: 'close', code: 4401, reason: 'bad token' }, '["c",4401,"bad token"]'],
    ['close, empty reason', { type: 'close', code: 1000, reason: '' }, '["c",1000,""]'],
  ];

  it.each(cases)('%s', (_label, frame, wire) => {
    expect(encodeFrame(frame)).toBe(wire);
    expect(decodeFrame(wire)).toEqual(frame);
  });

  it('sends only code and message of a response error, even when it is an Error instance', () => {
    // Error#message is not enumerable: JSON.stringify(error) would drop it and the peer would
    // reject the frame.
    const error = new TimeoutError('handler too slow');
    const text = encodeFrame({ type: 'response', seq: 1, id: 1, ok: false, error });
    expect(text).toBe('["r",1,1,0,{"code":"TIMEOUT","message":"handler too slow"}]');
    expect(decodeFrame(text)).toEqual({
      type: 'response',
      seq: 1,
      id: 1,
      ok: false,
      error: { code: 'TIMEOUT', message: 'handler too slow' },
    });
  });

  it('truncates a close reason to 123 chars so the peer can decode it', () => {
    const text = encodeFrame({ type: 'close', code: 4400, reason: 'x'.repeat(500) });
    expect(decodeFrame(text)).toEqual({ type: 'close', code: 4400, reason: 'x'.repeat(123) });
  });

  it('does not split a surrogate pair when truncating a close reason', () => {
    const reason = `${'x'.repeat(122)}😀tail`;
    const frame = expectFrame(decodeFrame(encodeFrame({ type: 'close', code: 1000, reason })));
    expect(frame).toEqual({ type: 'close', code: 1000, reason: 'x'.repeat(122) });
  });
});

describe('decodeFrame: accepted edge cases', () => {
  it.each([
    [
      'largest safe seq, id and ack',
      `["q",${MAX_SAFE},${MAX_SAFE},"n"]`,
      { type: 'request', seq: MAX_SAFE, id: MAX_SAFE, event: 'n', data: undefined },
    ],
    ['ack 0', '["a",0]', { type: 'ack', ack: 0 }],
    [
      'event name of 256 chars',
      `["e",1,"${'n'.repeat(256)}"]`,
      { type: 'event', seq: 1, event: 'n'.repeat(256), data: undefined },
    ],
    [
      'close reason of 123 chars',
      `["c",1000,"${'r'.repeat(123)}"]`,
      { type: 'close', code: 1000, reason: 'r'.repeat(123) },
    ],
    ['close code 4999', '["c",4999,""]', { type: 'close', code: 4999, reason: '' }],
    ['integers written as 1.0 / 1e0', '["e",1.0,"n",1e0]', { type: 'event', seq: 1, event: 'n', data: 1 }],
    ['negative and fractional ts', '["p",-1.5]', { type: 'ping', ts: -1.5 }],
    ['whitespace around the JSON', ' \n["a",1] ', { type: 'ack', ack: 1 }],
    ['unknown hello fields ignored', '["h",{"v":1,"ack":0,"x":true}]', { type: 'hello', v: 1, ack: 0 }],
    [
      'unknown welcome fields ignored',
      '["w",{"v":1,"sid":"s","resume":"r","resumed":false,"ack":0,"hb":[1,2],"x":1}]',
      { type: 'welcome', v: 1, sid: 's', resume: 'r', resumed: false, ack: 0, hb: { intervalMs: 1, timeoutMs: 2 } },
    ],
    [
      'unknown error fields dropped',
      '["r",1,1,0,{"code":"C","message":"m","stack":"..."}]',
      { type: 'response', seq: 1, id: 1, ok: false, error: { code: 'C', message: 'm' } },
    ],
    ['a version the codec does not judge', '["h",{"v":2,"ack":0}]', { type: 'hello', v: 2, ack: 0 }],
  ] as const)('%s', (_label, text, frame) => {
    expect(decodeFrame(text)).toEqual(frame);
  });

  it('keeps absent data apart from null', () => {
    expect(expectFrame(decodeFrame('["e",1,"n"]'))).not.toHaveProperty('data', null);
    expect(expectFrame(decodeFrame('["e",1,"n",null]'))).toHaveProperty('data', null);
  });

  it('accepts a frame exactly at the size limit', () => {
    const head = '["e",1,"n","';
    const text = `${head}${'x'.repeat(DEFAULT_LIMITS.maxFrameChars - head.length - 2)}"]`;
    expect(text.length).toBe(DEFAULT_LIMITS.maxFrameChars);
    expect(expectFrame(decodeFrame(text)).type).toBe('event');
  });
});

const welcomeOk = { v: 1, sid: 's', resume: 'r', resumed: false, ack: 0, hb: [20000, 10000] };
const welcome = (patch: Record<string, unknown>): string => JSON.stringify(['w', { ...welcomeOk, ...patch }]);
const withoutKey = (key: keyof typeof welcomeOk): string => {
  const copy: Record<string, unknown> = { ...welcomeOk };
  delete copy[key];
  return JSON.stringify(['w', copy]);
};

describe('decodeFrame: malformed input returns a ProtocolError (4400), never throws', () => {
  const nonText: ReadonlyArray<readonly [string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { type: 'ack', ack: 1 }],
    ['an already parsed array', ['a', 1]],
    ['an ArrayBuffer (binary message)', new ArrayBuffer(4)],
    ['a Uint8Array', new TextEncoder().encode('["a",1]')],
  ];

  it.each(nonText)('not text: %s', (_label, input) => {
    const error = expectError(decodeFrame(input));
    expect(error.closeCode).toBe(4400);
    expect(error.code).toBe('PROTOCOL');
  });

  const malformed: ReadonlyArray<readonly [string, string]> = [
    // Not JSON, or not a tagged array.
    ['empty text', ''],
    ['not JSON', 'hello'],
    ['truncated JSON', '["e",1,"n"'],
    ['NaN literal', '["p",NaN]'],
    ['a JSON object', '{"type":"ack","ack":1}'],
    ['a JSON string', '"a"'],
    ['a JSON number', '1'],
    ['JSON null', 'null'],
    ['empty array', '[]'],
    ['numeric tag', '[1,1]'],
    ['null tag', '[null,1]'],
    ['unknown tag', '["x",1]'],
    ['tags are case-sensitive', '["A",1]'],
    ['long-form tag', '["ack",1]'],
    // hello
    ['hello without body', '["h"]'],
    ['hello with extra element', '["h",{"v":1,"ack":0},1]'],
    ['hello body null', '["h",null]'],
    ['hello body array', '["h",[1,0]]'],
    ['hello without v', '["h",{"ack":0}]'],
    ['hello v as string', '["h",{"v":"1","ack":0}]'],
    ['hello v negative', '["h",{"v":-1,"ack":0}]'],
    ['hello v fractional', '["h",{"v":1.5,"ack":0}]'],
    ['hello without ack', '["h",{"v":1}]'],
    ['hello ack negative', '["h",{"v":1,"ack":-1}]'],
    ['hello ack fractional', '["h",{"v":1,"ack":0.5}]'],
    ['hello ack unsafe', '["h",{"v":1,"ack":9007199254740992}]'],
    ['hello auth null', '["h",{"v":1,"ack":0,"auth":null}]'],
    ['hello auth number', '["h",{"v":1,"ack":0,"auth":5}]'],
    ['hello resume null', '["h",{"v":1,"ack":0,"resume":null}]'],
    ['hello resume object', '["h",{"v":1,"ack":0,"resume":{}}]'],
    // welcome
    ['welcome without body', '["w"]'],
    ['welcome with extra element', `[${welcome({}).slice(1, -1)},1]`],
    ['welcome without v', withoutKey('v')],
    ['welcome without sid', withoutKey('sid')],
    ['welcome sid number', welcome({ sid: 1 })],
    ['welcome without resume', withoutKey('resume')],
    ['welcome resume null', welcome({ resume: null })],
    ['welcome without resumed', withoutKey('resumed')],
    ['welcome resumed as 1', welcome({ resumed: 1 })],
    ['welcome resumed as string', welcome({ resumed: 'true' })],
    ['welcome without ack', withoutKey('ack')],
    ['welcome ack negative', welcome({ ack: -1 })],
    ['welcome without hb', withoutKey('hb')],
    ['welcome hb object', welcome({ hb: { intervalMs: 1, timeoutMs: 1 } })],
    ['welcome hb of one', welcome({ hb: [1] })],
    ['welcome hb of three', welcome({ hb: [1, 2, 3] })],
    ['welcome hb negative', welcome({ hb: [-1, 1] })],
    ['welcome hb fractional', welcome({ hb: [1, 1.5] })],
    ['welcome hb string', welcome({ hb: ['1', 1] })],
    // event
    ['event without seq', '["e"]'],
    ['event without name', '["e",1]'],
    ['event with extra element', '["e",1,"n",{},1]'],
    ['event seq 0', '["e",0,"n"]'],
    ['event seq negative', '["e",-1,"n"]'],
    ['event seq fractional', '["e",1.5,"n"]'],
    ['event seq unsafe', '["e",9007199254740992,"n"]'],
    ['event seq string', '["e","1","n"]'],
    ['event seq null', '["e",null,"n"]'],
    ['event name empty', '["e",1,""]'],
    ['event name of 257 chars', `["e",1,"${'n'.repeat(257)}"]`],
    ['event name number', '["e",1,5]'],
    ['event name null', '["e",1,null]'],
    // request
    ['request without id', '["q",1,"n"]'],
    ['request with extra element', '["q",1,1,"n",{},1]'],
    ['request seq 0', '["q",0,1,"n"]'],
    ['request id 0', '["q",1,0,"n"]'],
    ['request id fractional', '["q",1,1.5,"n"]'],
    ['request id string', '["q",1,"1","n"]'],
    ['request name empty', '["q",1,1,""]'],
    ['request name of 257 chars', `["q",1,1,"${'n'.repeat(257)}"]`],
    // response
    ['response without ok', '["r",1,1]'],
    ['response ok as true', '["r",1,1,true]'],
    ['response ok as 2', '["r",1,1,2]'],
    ['response ok as string', '["r",1,1,"1"]'],
    ['response ok with extra element', '["r",1,1,1,{},1]'],
    ['response error without error', '["r",1,1,0]'],
    ['response error null', '["r",1,1,0,null]'],
    ['response error string', '["r",1,1,0,"boom"]'],
    ['response error without message', '["r",1,1,0,{"code":"C"}]'],
    ['response error without code', '["r",1,1,0,{"message":"m"}]'],
    ['response error code number', '["r",1,1,0,{"code":1,"message":"m"}]'],
    ['response error with extra element', '["r",1,1,0,{"code":"C","message":"m"},1]'],
    ['response seq 0', '["r",0,1,1]'],
    ['response id 0', '["r",1,0,1]'],
    ['response id negative', '["r",1,-1,1]'],
    // ack
    ['ack without value', '["a"]'],
    ['ack with extra element', '["a",1,2]'],
    ['ack negative', '["a",-1]'],
    ['ack fractional', '["a",1.5]'],
    ['ack unsafe', '["a",9007199254740992]'],
    ['ack string', '["a","1"]'],
    ['ack null', '["a",null]'],
    // ping / pong
    ['ping without ts', '["p"]'],
    ['ping with extra element', '["p",1,2]'],
    ['ping ts string', '["p","1"]'],
    ['ping ts null', '["p",null]'],
    ['ping ts overflowing to Infinity', '["p",1e400]'],
    ['pong without ts', '["o"]'],
    ['pong ts boolean', '["o",true]'],
    // close
    ['close without reason', '["c",1000]'],
    ['close with extra element', '["c",1000,"",1]'],
    ['close code 999', '["c",999,""]'],
    ['close code 5000', '["c",5000,""]'],
    ['close code fractional', '["c",1000.5,""]'],
    ['close code string', '["c","1000",""]'],
    ['close reason null', '["c",1000,null]'],
    ['close reason of 124 chars', `["c",1000,"${'r'.repeat(124)}"]`],
  ];

  it.each(malformed)('%s', (_label, text) => {
    const error = expectError(decodeFrame(text));
    expect(error.closeCode).toBe(4400);
    expect(error.code).toBe('PROTOCOL');
  });

  it('keeps the JSON parse failure as the cause', () => {
    expect(expectError(decodeFrame('{')).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('decodeFrame: size limit (4413)', () => {
  it('rejects text over the default 1 MiB limit before parsing it', () => {
    const text = `["e",1,"n","${'x'.repeat(DEFAULT_LIMITS.maxFrameChars)}"]`;
    const error = expectError(decodeFrame(text));
    expect(error.closeCode).toBe(4413);
  });

  it('applies a custom limit, even to text that is not JSON', () => {
    expect(expectError(decodeFrame('["a",12345]', { maxFrameChars: 10 })).closeCode).toBe(4413);
    expect(expectError(decodeFrame('not json at all', { maxFrameChars: 10 })).closeCode).toBe(4413);
    expect(decodeFrame('["a",1234]', { maxFrameChars: 10 })).toEqual({ type: 'ack', ack: 1234 });
  });
});

// ---- Properties -------------------------------------------------------------------------------

/** JSON values as they look after a trip through JSON (no -0, which JSON writes as 0). */
const jsonData = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const optData = fc.option(jsonData, { nil: undefined });
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }));
const count = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const seq = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: MAX_SAFE }));
// Lengths are UTF-16 code units; a 'binary' unit is 1 or 2 of them.
const name = fc.oneof(
  fc.string({ minLength: 1, maxLength: 256 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }),
);
const reason = fc.oneof(fc.string({ maxLength: 123 }), fc.string({ unit: 'binary', maxLength: 61 }));
const ts = fc
  .oneof(fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .map((n) => (n === 0 ? 0 : n));

const validFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    { type: fc.constant('hello' as const), v: count, ack: count, auth: text, resume: text, b: seq },
    { requiredKeys: ['type', 'v', 'ack'] },
  ),
  fc.record(
    {
      type: fc.constant('welcome' as const),
      v: count,
      sid: text,
      resume: text,
      resumed: fc.boolean(),
      ack: count,
      hb: fc.record({ intervalMs: count, timeoutMs: count }),
      b: seq,
    },
    { requiredKeys: ['type', 'v', 'sid', 'resume', 'resumed', 'ack', 'hb'] },
  ),
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
  fc.record({ type: fc.constant('close' as const), code: fc.integer({ min: 1000, max: 4999 }), reason }),
);

describe('codec properties', () => {
  it('decode(encode(f)) deep-equals f for every valid frame', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
      { numRuns: 2000 },
    );
  });

  const tags = fc.constantFrom('h', 'w', 'e', 'q', 'r', 'a', 'p', 'o', 'c', 'x');
  const frameLike = fc.tuple(
    tags,
    fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), seq, fc.constantFrom(0, 1, -1, 1.5)), { maxLength: 5 }),
  );
  const candidates = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    frameLike.map(([tag, rest]) => JSON.stringify([tag, ...rest])),
    validFrame.map(encodeFrame).chain((t) => fc.integer({ min: 0, max: t.length }).map((cut) => t.slice(0, cut))),
    fc.anything(),
  );

  it('encodeWithDataJson writes what encodeFrame writes, for events and requests with and without data', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        if (frame.type !== 'event' && frame.type !== 'request') return;
        const json = frame.data === undefined ? undefined : JSON.stringify(frame.data);
        const id = frame.type === 'request' ? frame.id : undefined;
        expect(encodeWithDataJson(frame.seq, frame.event, json, id)).toBe(encodeFrame(frame));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary input, and whatever it accepts re-encodes stably', () => {
    fc.assert(
      fc.property(candidates, (input) => {
        const result = decodeFrame(input);
        if (result instanceof ProtocolError) {
          expect([4400, 4413]).toContain(result.closeCode);
          return;
        }
        const wire = encodeFrame(result);
        expect(encodeFrame(expectFrame(decodeFrame(wire)))).toBe(wire);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('batches and what each side decodes (PROTOCOL.md, "Batches")', () => {
  const hb = { intervalMs: 20_000, timeoutMs: 10_000 };

  it('writes and reads the batch limit b of hello and welcome', () => {
    const hello = { type: 'hello', v: 1, ack: 0, b: 1_048_576 } as const;
    expect(encodeFrame(hello)).toBe('["h",{"v":1,"ack":0,"b":1048576}]');
    expect(decodeFrame(encodeFrame(hello))).toEqual(hello);
    const welcome = { type: 'welcome', v: 1, sid: 's', resume: 'r', resumed: false, ack: 0, hb, b: 65_536 } as const;
    expect(encodeFrame(welcome)).toBe(
      '["w",{"v":1,"sid":"s","resume":"r","resumed":false,"ack":0,"hb":[20000,10000],"b":65536}]',
    );
    expect(decodeFrame(encodeFrame(welcome))).toEqual(welcome);
  });

  it.each([0, -1, 1.5, '1', null, 2 ** 53])('refuses b = %j in hello and welcome (4400)', (b) => {
    expect(expectError(decodeFrame(JSON.stringify(['h', { v: 1, ack: 0, b }]))).closeCode).toBe(4400);
    expect(expectError(decodeFrame(welcome({ b }))).closeCode).toBe(4400);
  });

  it('reads a message as one frame, or as a batch of frames in order', () => {
    expect(decodeMessage(SERVER_FRAMES, '["e",1,"a"]')).toEqual([
      { type: 'event', seq: 1, event: 'a', data: undefined },
    ]);
    expect(decodeMessage(SERVER_FRAMES, '[["e",1,"a",{"x":1}], ["a",3] ,["e",2,"b"]]')).toEqual([
      { type: 'event', seq: 1, event: 'a', data: { x: 1 } },
      { type: 'ack', ack: 3 },
      { type: 'event', seq: 2, event: 'b', data: undefined },
    ]);
  });

  it('decodeFrames returns a lone frame as it is and a batch as an array, with the same checks', () => {
    expect(decodeFrames(SERVER_FRAMES, '["e",1,"a"]')).toEqual({ type: 'event', seq: 1, event: 'a', data: undefined });
    expect(decodeFrames(SERVER_FRAMES, '[["a",3],["e",2,"b"]]')).toEqual([
      { type: 'ack', ack: 3 },
      { type: 'event', seq: 2, event: 'b', data: undefined },
    ]);
    expect(expectError(decodeFrames(SERVER_FRAMES, '["e",0,"a"]')).closeCode).toBe(4400);
    expect(expectError(decodeFrames(SERVER_FRAMES, '[["a",3],["e",0,"b"]]')).closeCode).toBe(4400);
    expect(expectError(decodeFrames(SERVER_FRAMES, '["a",3]', { maxFrameChars: 6 })).closeCode).toBe(4413);
  });

  it.each([
    ['a bad frame in a batch', '[["e",1,"a"],["e",0,"b"]]'],
    ['an unknown tag in a batch', '[["e",1,"a"],["x",1]]'],
    ['a batch inside a batch', '[[["e",1,"a"]]]'],
    ['a batch of non-frames', '[[1,2]]'],
    ['an empty batch', '[]'],
  ])('refuses %s as a whole (4400)', (_label, text) => {
    expect(expectError(decodeMessage(SERVER_FRAMES, text)).closeCode).toBe(4400);
  });

  it('applies the size limit to the whole message', () => {
    const text = '[["a",1],["a",2]]';
    expect(expectError(decodeMessage(SERVER_FRAMES, text, { maxFrameChars: text.length - 1 })).closeCode).toBe(4413);
    expect(decodeMessage(SERVER_FRAMES, text, { maxFrameChars: text.length })).toHaveLength(2);
  });

  it('decodes only what the other side sends: hello and request from a client, welcome and response from a server', () => {
    const fromClient = ['["h",{"v":1,"ack":0}]', '["q",1,1,"n"]'];
    const fromServer = [welcome({}), '["r",1,1,1]'];
    for (const text of fromClient) {
      expect(decodeFrameOf(CLIENT_FRAMES, text)).not.toBeInstanceOf(ProtocolError);
      expect(expectError(decodeFrameOf(SERVER_FRAMES, text)).closeCode).toBe(4400);
    }
    for (const text of fromServer) {
      expect(decodeFrameOf(SERVER_FRAMES, text)).not.toBeInstanceOf(ProtocolError);
      expect(expectError(decodeFrameOf(CLIENT_FRAMES, text)).closeCode).toBe(4400);
    }
    for (const tag of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(expectError(decodeMessage(SERVER_FRAMES, JSON.stringify([tag, 1]))).closeCode).toBe(4400);
    }
  });

  it('does not take a batch where one frame is expected (hello and welcome travel alone)', () => {
    expect(expectError(decodeFrameOf(SERVER_FRAMES, `[${welcome({})}]`)).closeCode).toBe(4400);
    expect(expectError(decodeFrameOf(CLIENT_FRAMES, '[["h",{"v":1,"ack":0}]]')).closeCode).toBe(4400);
  });
});
