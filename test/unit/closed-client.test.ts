/**
 * A client after `close()`: what the app asks of it then settles at once, as `request()` does,
 * instead of waiting for an event that can no longer come.
 */
import { describe, expect, it, vi } from 'vitest';
import { ClosedError } from '../../src/errors/index.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({ autoConnect: false });
const { make } = t;

describe('what the app asks of a client after close()', () => {
  it('waitFor() rejects with ClosedError instead of waiting for ever', async () => {
    const c = make();
    c.close();
    const settled = vi.fn();
    c.waitFor('open').then(settled, settled);
    await settle();
    expect(settled).toHaveBeenCalledWith(expect.any(ClosedError));
  });

  it('ping() rejects with ClosedError, as request() does, not NotConnectedError (which says to wait for open)', async () => {
    const c = await t.connected({ autoConnect: true });
    c.close();
    await expect(c.ping()).rejects.toBeInstanceOf(ClosedError);
    await expect(c.request('x')).rejects.toBeInstanceOf(ClosedError);
  });

  it("send() returns 'dropped' and connect() throws ClosedError (README's close() row)", async () => {
    const c = await t.connected({ autoConnect: true });
    c.close();
    expect(c.send('chat', { text: 'late' })).toBe('dropped');
    expect(() => c.connect()).toThrow(ClosedError);
    await settle();
    expect(c.state).toBe('closed');
    expect(t.fake.links).toHaveLength(1);
  });

  it('stream() ends at once instead of waiting for ever', async () => {
    const c = make();
    c.close();
    const done = vi.fn();
    void c.stream('chat').next().then(done);
    await settle();
    expect(done).toHaveBeenCalledWith({ done: true, value: undefined });
  });
});
