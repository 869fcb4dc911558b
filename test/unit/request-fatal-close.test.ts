/**
 * A request pending when a fatal close stops the client (not `close()`) is rejected with
 * `ClosedError`: one still queued is withdrawn with it, as an aborted one is, so a later
 * `connect()` (or the next page, with storage) does not run what the app was told failed.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { ClosedError } from '../../src/errors/index.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';
import { memoryStorage } from '../helpers/memory-storage.js';

const t = useFakeClientFixture({ heartbeat: false, reconnect: { initialDelayMs: 1000, jitter: 'none' } });

/** Open, then offline with a request queued, then stopped by the server refusing the token on the retry. */
async function stoppedWithQueuedRequest(options: ClientOptions = {}): Promise<RealtimeClient> {
  const c = await t.connected(options);
  t.fake.last.drop(); // offline: reconnecting
  const r = c.request('charge', { cents: 100 });
  expect(c.queued).toBe(1);
  const rejected = expect(r).rejects.toBeInstanceOf(ClosedError);
  await vi.advanceTimersByTimeAsync(1000); // the retry: the server refuses the token (fatal)
  t.fake.last.open();
  t.fake.last.drop({ code: 4401, reason: 'token expired' });
  await settle();
  expect(c.state).toBe('closed');
  await rejected;
  expect(c.queued).toBe(0);
  return c;
}

describe('a request queued when a fatal close stops the client', () => {
  it('rejects with ClosedError and is never sent by a later connect()', async () => {
    const c = await stoppedWithQueuedRequest();
    c.connect(); // the app retries with a fresh token
    await settle();
    t.fake.last.accept({ resumed: true });
    await settle();
    expect(t.fake.last.framesOf('request')).toEqual([]);
    expect(c.close()).toEqual([]);
  });

  it('is not sent by the next page either (the stored session was written without it)', async () => {
    const storage = memoryStorage(new Map());
    const queue = { storage: webStorageStore(storage), storageKey: 'k' };
    await stoppedWithQueuedRequest({ queue });
    t.make({ queue }); // the reload, the old page gone without a close()
    await settle();
    t.fake.last.accept({ resumed: true });
    await settle();
    expect(t.fake.last.framesOf('request')).toEqual([]);
  });
});
