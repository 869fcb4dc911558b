import { describe, expect, it } from 'vitest';
import { encodeFrame, decodeFrame } from '../../src/protocol/codec.js';

describe('codec smoke', () => {
  it('round-trips an event', () => {
    const f = { type: 'event', seq: 1, event: 'chat', data: { text: 'hi' } } as const;
    expect(decodeFrame(encodeFrame(f))).toEqual(f);
  });
});
