/**
 * Delivery edge cases found by an audit of the outgoing side and its persistence.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
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
