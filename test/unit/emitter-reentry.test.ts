/**
 * The client drops its emitter once nothing listens (core.ts); a handler that subscribes anew in
 * the middle of an emit, after a nested emit found the old emitter idle, must keep its subscription.
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

async function connected(): Promise<RealtimeClient> {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    rememberTransport: false,
  });
  clients.push(c);
  await settle();
  fake.last.accept();
  await settle();
  return c;
}

describe('subscribing from a once() handler that emits again', () => {
  it("a once('state') handler that connects again and subscribes to 'open' gets it", async () => {
    const c = await connected();
    const opened = vi.fn();
    c.once('state', (s) => {
      if (s.to !== 'closed') return;
      c.connect(); // emits 'state' (closed -> connecting) inside this emit
      c.on('open', opened);
    });
    fake.last.push({ type: 'close', code: 4401, reason: 'token expired' });
    expect(c.state).toBe('connecting');
    await settle();
    fake.last.accept();
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
    fake.last.push({ type: 'close', code: 4401, reason: 'token expired' });
    c.close();
    await settle();
    expect(settled).toHaveBeenCalledWith(expect.any(ClosedError));
  });
});
