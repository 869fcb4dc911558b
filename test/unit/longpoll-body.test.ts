import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_DEPTH, asksForNumbers, splitFrames, tooLarge } from '../../src/server/endpoints/longpoll-body.js';

describe('long-polling POST bodies: splitFrames', () => {
  it('gives the text of each frame of any JSON array of arrays, as JSON.stringify wrote it', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }), { maxLength: 8 }), (frames) => {
        expect(splitFrames(JSON.stringify(frames))).toEqual(frames.map((f) => JSON.stringify(f)));
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('keeps brackets, quotes and backslashes inside strings, and allows JSON whitespace between frames', () => {
    const a = '["e",1,"x",{"s":"]}[{\\"\\\\","t":["]"]}]';
    const b = '["a", 3]';
    expect(splitFrames(`[${a},${b}]`)).toEqual([a, b]);
    expect(splitFrames(` \r\n\t[ ${a} ,\n${b} ]\n`)).toEqual([a, b]);
    expect(splitFrames('[]')).toEqual([]);
    expect(splitFrames(' [ ] ')).toEqual([]);
  });

  it.each([
    ['not an array', '{"not":"frames"}'],
    ['empty', ''],
    ['an element that is not an array', '[["e",1,"x"],"e"]'],
    ['a number element', '[1]'],
    ['an object element', '[{"e":1}]'],
    ['unbalanced', '[["e",1,"x"]'],
    ['an unterminated string', '[["e",1,"x]]'],
    ['a trailing backslash', '[["e",1,"x\\'],
    ['a missing comma', '[["a",1] ["a",2]]'],
    ['a trailing comma', '[["a",1],]'],
    ['text after the array', '[["a",1]] x'],
    ['two arrays', '[["a",1]][["a",2]]'],
  ])('refuses %s', (_what, body) => {
    expect(splitFrames(body)).toBeUndefined();
  });

  it('leaves what is inside a frame to the session (a bad frame is bad input, not a bad body)', () => {
    expect(splitFrames('[["e",1,x],["zz"]]')).toEqual(['["e",1,x]', '["zz"]']);
  });

  it(`refuses nesting deeper than ${MAX_BODY_DEPTH} levels, body array included`, () => {
    const nested = (depth: number): string => `[["e",1,"x",${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}]]`;
    expect(splitFrames(nested(MAX_BODY_DEPTH))).toHaveLength(1);
    expect(splitFrames(nested(MAX_BODY_DEPTH + 1))).toBeUndefined();
    expect(
      splitFrames(`[["e",1,"x",${'{"a":'.repeat(MAX_BODY_DEPTH)}1${'}'.repeat(MAX_BODY_DEPTH)}]]`),
    ).toBeUndefined();
  });
});

describe('long-polling opening POST: asksForNumbers', () => {
  it('is true only for a JSON object with n: 1', () => {
    expect(asksForNumbers('{"n":1}')).toBe(true);
    expect(asksForNumbers('{"n":1,"later":true}')).toBe(true);
    for (const body of ['', '{}', '{"n":2}', '{"n":"1"}', '[1]', 'null', 'n=1', '{"n":1'])
      expect(asksForNumbers(body)).toBe(false);
    expect(asksForNumbers(tooLarge)).toBe(false);
  });
});
