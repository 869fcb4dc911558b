/**
 * A client after `close()`: what the app asks of it then settles at once, as `request()` does,
 * instead of waiting for an event that can no longer come.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { ClosedError } from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let fake: FakeTransport;
let clients: RealtimeClient[];

useFakeClients(
  () => {
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

function make(): RealtimeClient {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    autoConnect: false,
  });
  clients.push(c);
  return c;
}

describe('what the app asks of a client after close()', () => {
  it('waitFor() rejects with ClosedError instead of waiting for ever', async () => {
    const c = make();
    c.close();
    const settled = vi.fn();
    c.waitFor('open').then(settled, settled);
    await settle();
    expect(settled).toHaveBeenCalledWith(expect.any(ClosedError));
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
