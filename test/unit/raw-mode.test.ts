/**
 * `protocol: 'raw'` with the scripted transport: no envelope, no acks. What the queue sends, what
 * `close()` reports, what the protocol-only members say, and what a stored queue does after a reload.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { InvalidArgumentError } from '../../src/errors/index.js';
import type { SessionStore } from '../../src/storage/store.js';
import { FakeFetch } from '../helpers/fake-fetch.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let fake: FakeTransport;
let clients: RealtimeClient[];

function raw(options: ClientOptions = {}): RealtimeClient {
  const c = new RealtimeClient('ws://test.invalid/echo', {
    transports: [fake],
    lifecycle: false,
    protocol: 'raw',
    heartbeat: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  return c;
}

useFakeClients(
  () => {
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('raw mode: the offline queue', () => {
  it('sends what was queued while connecting and while reconnecting once, in order, before open', async () => {
    const c = raw();
    await settle();
    expect(c.send('a')).toBe('queued'); // connecting
    const sentAtOpen: string[][] = [];
    c.on('open', () => sentAtOpen.push([...fake.last.sent]));
    fake.last.open();
    await settle();
    expect(sentAtOpen).toEqual([['a']]);
    expect(c.send('b')).toBe('sent');
    fake.last.drop();
    expect(c.send('c')).toBe('queued');
    expect(c.send('d')).toBe('queued');
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.open();
    await settle();
    expect(fake.links.map((l) => l.sent)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(c.queued).toBe(0);
  });

  it('applies the bounds and the TTL to queued texts and reports each dropped text once', async () => {
    const c = raw({ queue: { maxMessages: 2, ttlMs: 5000 } });
    await settle();
    const overflow: unknown[] = [];
    const expired: unknown[] = [];
    c.on('queue:overflow', (e) => overflow.push(...e.dropped.map((m) => m.event)));
    c.on('queue:expired', (e) => expired.push(...e.expired.map((m) => m.event)));
    c.send('1');
    c.send('2');
    c.send('3'); // drops '1'
    await vi.advanceTimersByTimeAsync(4000);
    c.send('4'); // drops '2'
    await vi.advanceTimersByTimeAsync(1000); // '3' expires
    fake.last.open();
    await settle();
    expect([overflow, expired, fake.last.sent]).toEqual([['1', '2'], ['3'], ['4']]);
  });
});

describe('raw mode: close()', () => {
  it('writes nothing of the surelink protocol to a raw server (no close frame)', async () => {
    const c = raw();
    await settle();
    fake.last.open();
    await settle();
    c.send('hello');
    const link = fake.last;
    c.close();
    expect(link.sent).toEqual(['hello']);
    expect(link.closedWith?.code).toBe(1000);
  });

  it('returns exactly the texts never written to a socket (raw servers send no acks)', async () => {
    const c = raw();
    await settle();
    c.send('early');
    fake.last.open();
    await settle();
    c.send('written');
    fake.last.drop(); // the socket died: whether 'early' and 'written' arrived, no one can tell
    c.send('late');
    expect(c.close().map((m) => m.event)).toEqual(['late']);
  });
});

describe('raw mode: the members that need the surelink protocol', () => {
  it('request() and ping() refuse with InvalidArgumentError even on an open link', async () => {
    const c = raw();
    await settle();
    fake.last.open();
    await settle();
    await expect(c.request('x')).rejects.toThrow(InvalidArgumentError);
    await expect(c.ping()).rejects.toThrow(InvalidArgumentError);
    await expect(c.ping()).rejects.toThrow(/surelink protocol/);
    expect(fake.last.sent).toEqual([]);
  });
});

describe('raw mode: a stored queue', () => {
  it('texts flushed after a reconnect are not sent again after a page reload', async () => {
    const saved = new Map<string, unknown>();
    const store: SessionStore = {
      load: (k) => saved.get(k) as never,
      save: (k, s) => void saved.set(k, structuredClone(s)),
      remove: (k) => void saved.delete(k),
    };
    const first = raw({ queue: { storage: store, storageKey: 'k' } });
    await settle();
    first.send('queued 1');
    first.send('queued 2');
    fake.last.open();
    await settle();
    expect(fake.last.sent).toEqual(['queued 1', 'queued 2']);
    // The reload: the old page never closed its client; a new one starts on the same storage.
    raw({ queue: { storage: store, storageKey: 'k' } });
    await settle();
    fake.last.open();
    await settle();
    expect(fake.last.sent).toEqual([]);
  });
});

describe('raw mode: a fallback transport', () => {
  it('stays on the fallback: a new raw socket is a new server connection, which no upgrade may swap in unseen', async () => {
    const ws = new FakeTransport('websocket');
    const sockjs = new FakeTransport('sockjs');
    const c = raw({ transports: [ws, sockjs], rememberTransport: false });
    // The app's per-connection setup, done on every `open`, as a raw server needs it.
    c.on('open', () => c.send('subscribe'));
    await settle();
    ws.last.drop(); // WebSocket blocked here
    await settle();
    sockjs.last.open();
    await settle();
    expect(c.transport).toBe('sockjs');
    for (let s = 0; s < 60; s++) {
      await vi.advanceTimersByTimeAsync(1000); // past the first upgrade probe (10 s), which WebSocket answers
      if (!ws.last.closedWith) ws.last.open();
    }
    const used = [...ws.links, ...sockjs.links].filter((l) => l.sent.length > 0 || !l.closedWith);
    expect(used.map((l) => [l.name, l.sent, l.closedWith])).toEqual([['sockjs', ['subscribe'], undefined]]);
    expect(ws.links).toHaveLength(1);
  });
});

describe('raw mode: long polling', () => {
  it("is skipped with a clear reason: a raw server does not speak surelink's polling, and its 403 must not stop the client", async () => {
    const fetch = new FakeFetch();
    const ws = new FakeTransport('websocket');
    const c = raw({ transports: [ws, 'longpoll'], fetch: fetch.fn, rememberTransport: false });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    ws.last.drop(); // the raw server is restarting
    await settle();
    fetch.requests[0]?.respond(403, 'Forbidden'); // what its web server says to POST /echo/poll
    await settle();
    expect(fetch.requests).toEqual([]);
    expect(c.state).toBe('reconnecting');
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/longpoll.*surelink protocol/)]);
  });
});

describe('raw mode: an oversize message', () => {
  it('is refused with a short error message, not one holding the whole text', () => {
    const c = raw({ autoConnect: false });
    expect(() => c.send('x'.repeat((1 << 20) + 1))).toThrow(InvalidArgumentError);
    expect(() => c.send('x'.repeat((1 << 20) + 1))).toThrow(/^.{0,120}$/);
  });
});

describe('raw mode: closes', () => {
  it("reconnects after a raw server's normal close (1000): only the client's own close() stops it", async () => {
    const c = raw();
    await settle();
    fake.last.open();
    await settle();
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    fake.last.drop({ code: 1000, reason: 'idle' }); // a plain server ending an idle connection
    expect(closes).toEqual([{ code: 1000, reason: 'idle', willReconnect: true }]);
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.links).toHaveLength(2);
    fake.last.open();
    await settle();
    expect(c.state).toBe('open');
    c.close();
    expect(closes.at(-1)).toEqual({ code: 1000, reason: 'close()', willReconnect: false });
    expect(c.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.links).toHaveLength(2);
  });
});
