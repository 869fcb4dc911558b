/**
 * The `close` event's `willReconnect` (README "Lifecycle events"): true only when the client goes
 * on to reconnect. When the retry policy gives up on that very loss (`maxAttempts` spent, a policy
 * returning `null`), the client closes at once, and the payload must not promise a reconnect the
 * app would wait for (a "reconnecting…" banner that never goes).
 */
import { describe, expect, it, vi } from 'vitest';
import type { ClientOptions } from '../../src/client/options.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({ heartbeat: false });

async function lossSeen(options: ClientOptions) {
  const c = await t.connected(options);
  const closes: unknown[] = [];
  c.on('close', (e) => closes.push(e));
  t.fake.last.drop({ code: 1006, reason: 'gone' });
  await settle();
  return { c, closes };
}

describe("close's willReconnect", () => {
  it('is false when reconnect.maxAttempts is spent: the client closes instead', async () => {
    const { c, closes } = await lossSeen({ reconnect: { maxAttempts: 0 } });
    expect(closes).toEqual([{ code: 1006, reason: 'gone', willReconnect: false }]);
    expect(c.state).toBe('closed');
  });

  it('is false when the reconnect policy returns null for this loss', async () => {
    const policy = vi.fn(() => null);
    const { c, closes } = await lossSeen({ reconnect: { policy } });
    expect(closes).toEqual([{ code: 1006, reason: 'gone', willReconnect: false }]);
    expect(c.state).toBe('closed');
    expect(policy).toHaveBeenCalledTimes(1); // asked once per loss, as before
  });

  it('is false when the policy throws: the client closes with an error', async () => {
    const errors: unknown[] = [];
    const c = await t.connected({
      reconnect: {
        policy: () => {
          throw new Error('bad policy');
        },
      },
    });
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    c.on('error', (e) => errors.push(e));
    t.fake.last.drop({ code: 1006, reason: 'gone' });
    await settle();
    expect(closes).toEqual([{ code: 1006, reason: 'gone', willReconnect: false }]);
    expect(errors).toHaveLength(1);
    expect(c.state).toBe('closed');
  });

  it('stays true when the policy gives a delay, and the retry comes after it', async () => {
    const { c, closes } = await lossSeen({ reconnect: { policy: () => 500 } });
    expect(closes).toEqual([{ code: 1006, reason: 'gone', willReconnect: true }]);
    expect(c.state).toBe('reconnecting');
    const links = t.fake.links.length;
    await vi.advanceTimersByTimeAsync(499);
    expect(t.fake.links).toHaveLength(links);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.fake.links).toHaveLength(links + 1);
  });
});
