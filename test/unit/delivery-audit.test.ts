/**
 * Delivery edge cases found by an audit of the outgoing side and its persistence.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { SessionLostError } from '../../src/errors/index.js';
import type { SessionStore } from '../../src/storage/store.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let fake: FakeTransport;
let clients: RealtimeClient[];

function page(options: ClientOptions = {}): RealtimeClient {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    heartbeat: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    queue: { storage: webStorageStore(localStorage), storageKey: 'k' },
    ...options,
  });
  clients.push(c);
  return c;
}

const sentData = () => fake.last.framesOf('event').map((f) => [f.seq, f.data]);

useFakeClients(
  () => {
    localStorage.clear();
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('a stored value that is not JSON', () => {
  it('is ignored and written over: messages queued offline still survive the next reload', async () => {
    localStorage.setItem('k', '{"resume":"r1","deliv'); // a foreign or damaged value
    const first = page();
    await settle(); // loaded; connecting, never answered: offline
    expect(first.send('m', 1)).toBe('queued');
    page(); // the reload
    await settle();
    fake.last.accept();
    await settle();
    expect(sentData()).toEqual([[1, 1]]);
  });
});

describe('an asynchronous store and a link lost while a write is under way', () => {
  // KNOWN DEFECT (it.fails until fixed): the batch was taken for transmission (cursor and sentUpTo
  // past it) before its write; the link went before the write landed, so it was never transmitted,
  // yet a new session counts it as "sent in the old one": reported lost, never sent.
  it.fails('a message that never reached the wire is sent in the new session, not reported lost', async () => {
    let release: () => void = () => {};
    const store: SessionStore = {
      load: async () => undefined,
      save: () => new Promise<void>((resolve) => (release = resolve)),
      remove: async () => {},
    };
    const c = page({ queue: { storage: store, storageKey: 'a' } });
    const lost: unknown[] = [];
    c.on('error', (e) => {
      if (e instanceof SessionLostError) lost.push(...e.undelivered.map((m) => m.data));
    });
    await settle();
    fake.last.accept();
    await settle();
    release(); // the write of the welcome's flush
    await settle();
    expect(c.send('m', 1)).toBe('sent'); // waits for its write
    const first = fake.last;
    first.drop(); // before the write landed: #1 never went out
    release();
    await settle();
    expect(first.framesOf('event')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.accept({ resumed: false, resume: 'r2' }); // the session is gone
    for (let i = 0; i < 3; i++) {
      release();
      await settle();
    }
    expect(lost).toEqual([]);
    expect(sentData()).toEqual([[1, 1]]);
  });
});
