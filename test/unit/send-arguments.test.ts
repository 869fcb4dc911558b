/**
 * `send()` and `request()` refuse data JSON has no value for, as README says ("data JSON cannot
 * encode"): a function or a symbol is not sent as an event without data.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture();
const { connected } = t;

describe('data JSON has no value for', () => {
  it.each([
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('send() and request() refuse %s with an InvalidArgumentError, sending nothing', async (_, data) => {
    const c = await connected();
    expect(() => c.send('chat', data)).toThrow(InvalidArgumentError);
    await expect(c.request('join', data)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(t.fake.last.frames.filter((f) => f.type === 'event' || f.type === 'request')).toEqual([]);
    expect(c.close()).toEqual([]);
  });
});
