/**
 * Every message the app sends is delivered (acknowledged) or reported exactly once: by `close()`,
 * `queue:overflow`, `queue:expired` or a `SessionLostError`, never by two of them and never by none.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { SessionLostError } from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let fake: FakeTransport;
let clients: RealtimeClient[];

/** A client whose every report is tallied by message number. */
async function tallied(options: ClientOptions = {}) {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    heartbeat: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  const reports: [string, unknown][] = [];
  c.on('queue:overflow', (e) => e.dropped.forEach((m) => reports.push(['overflow', m.data])));
  c.on('queue:expired', (e) => e.expired.forEach((m) => reports.push(['expired', m.data])));
  c.on('error', (e) => {
    if (e instanceof SessionLostError) e.undelivered.forEach((m) => reports.push(['lost', m.data]));
  });
  await settle();
  fake.last.accept();
  await settle();
  const close = () => c.close().forEach((m) => reports.push(['close', m.data]));
  return { c, reports, close };
}

const reconnect = async (welcome: { resumed: boolean; ack: number }) => {
  await vi.advanceTimersByTimeAsync(1000);
  fake.last.accept({ resume: 'r2', ...welcome });
  await settle();
};

useFakeClients(
  () => {
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('undelivered messages are reported exactly once', () => {
  it('across an overflow while some are in flight, a session expiry, and close() with some in flight and some queued', async () => {
    const { c, reports, close } = await tallied({ queue: { maxMessages: 2 } });
    c.send('m', 1);
    c.send('m', 2);
    fake.last.push({ type: 'ack', ack: 1 }); // 1 delivered
    fake.last.drop(); // 2 in flight
    for (const n of [3, 4, 5]) c.send('m', n); // 3 overflows (2 is in flight, not queued)
    await reconnect({ resumed: false, ack: 0 }); // session gone: 2 may be lost; 4, 5 go in the new one
    c.send('m', 6);
    fake.last.push({ type: 'ack', ack: 1 }); // 4 delivered
    fake.last.drop();
    c.send('m', 7);
    close();
    expect(reports).toEqual([
      ['overflow', 3],
      ['lost', 2],
      ['close', 5],
      ['close', 6],
      ['close', 7],
    ]);
  });

  it('a message in flight when the link dropped is re-sent on resume, and expires only if it is queued again', async () => {
    const { c, reports, close } = await tallied({ queue: { ttlMs: 5000 } });
    c.send('m', 1);
    fake.last.drop();
    c.send('m', 2);
    await vi.advanceTimersByTimeAsync(6000); // 2 expires offline; 1 was transmitted, so it does not
    while (fake.last.closedWith) await vi.advanceTimersByTimeAsync(100); // the next attempt's socket
    fake.last.accept({ resume: 'r2', resumed: true, ack: 0 });
    await settle();
    close();
    expect(reports).toEqual([
      ['expired', 2],
      ['expired', 1], // the server had not got it: back in the queue, past its TTL
    ]);
  });
});
