/**
 * The client drops its emitter once nothing listens (core.ts); a handler that subscribes anew in
 * the middle of an emit, after a nested emit found the old emitter idle, must keep its subscription.
 */
import { describe, expect, it, vi } from 'vitest';
import { ClosedError } from '../../src/errors/index.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture();
const { connected } = t;

describe('subscribing from a once() handler that emits again', () => {
  it("a once('state') handler that connects again and subscribes to 'open' gets it", async () => {
    const c = await connected();
    const opened = vi.fn();
    c.once('state', (s) => {
      if (s.to !== 'closed') return;
      c.connect(); // emits 'state' (closed -> connecting) inside this emit
      c.on('open', opened);
    });
    t.fake.last.push({ type: 'close', code: 4401, reason: 'token expired' });
    expect(c.state).toBe('connecting');
    await settle();
    t.fake.last.accept();
    await settle();
    expect(c.state).toBe('open');
    expect(opened).toHaveBeenCalledOnce();
  });

  it('a waitFor() made there is ended by close(), not left pending for ever', async () => {
    const c = await connected();
    const settled = vi.fn();
    c.once('state', (s) => {
      if (s.to !== 'closed') return;
      c.connect();
      c.waitFor('open').then(settled, settled);
    });
    t.fake.last.push({ type: 'close', code: 4401, reason: 'token expired' });
    c.close();
    await settle();
    expect(settled).toHaveBeenCalledWith(expect.any(ClosedError));
  });
});
