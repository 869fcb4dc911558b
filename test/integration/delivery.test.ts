/**
 * Delivery guarantees against the real server through a proxy that cuts the TCP connection over
 * and over while both sides stream numbered messages.
 */
import { describe, expect, it } from 'vitest';
import { SessionLostError } from '../../src/errors/index.js';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { until, untilWhileProgressing, useHarness } from '../helpers/harness.js';
import { pump, verdict } from '../helpers/numbered.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

type Events = { n: number };

const { server, client, defer } = useHarness<Events, Events>({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });

async function setup(serverOptions: Parameters<typeof server>[0] = {}) {
  const s = await server(serverOptions);
  const proxy = await TcpProxy.start(s.port);
  defer(() => proxy.close());
  return { s, proxy, url: `ws://127.0.0.1:${proxy.port}/realtime` };
}

describe('exactly once, in order, across drops', () => {
  it('streams thousands of numbered messages each way through ≥ 20 cuts with 0 lost / 0 duplicated / 0 reordered', async () => {
    const N = 4000;
    const { s, proxy, url } = await setup();
    const atServer: number[] = [];
    s.rt.on('connection', (session) => {
      session.on('n', (v) => atServer.push(v));
      defer(pump((v) => session.send('n', v), N, 12));
    });
    const c = client(url);
    const atClient: number[] = [];
    c.on('n', (v) => atClient.push(v));
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => opens.push(resumed));
    await c.waitFor('open', { timeoutMs: 5000 });
    defer(pump((v) => c.send('n', v), N, 12));
    let cuts = 0;
    const cutter = setInterval(() => {
      if (proxy.connections > 0) {
        proxy.cut();
        cuts++;
      }
    }, 150);
    defer(() => clearInterval(cutter));
    // The work is fixed (20 cuts, N each way) and its pace is the machine's: on a loaded one it
    // takes several times longer, so the waits fail on a stall, not on a wall-clock deadline.
    const progress = () =>
      `${cuts} cuts, ${proxy.accepted} connections, ${opens.length} opens, state ${c.state}, ` +
      `${atServer.length}/${N} at the server, ${atClient.length}/${N} at the client`;
    await untilWhileProgressing(() => cuts >= 20, progress);
    clearInterval(cutter);
    await untilWhileProgressing(() => atServer.length >= N && atClient.length >= N, progress);
    await new Promise((r) => setTimeout(r, 200)); // anything extra would show up as a duplicate now
    expect(verdict(atServer, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(verdict(atClient, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(cuts).toBeGreaterThanOrEqual(20);
    expect(opens[0]).toBe(false);
    expect(opens.slice(1).every((r) => r)).toBe(true);
    expect(opens.length).toBeGreaterThan(1);
  }, 180_000); // a backstop: about 4 s unloaded, and the waits above fail on a 10 s stall

  it('after the grace period the client opens with resumed: false and is told what may be lost', async () => {
    const { s, proxy, url } = await setup({ sessionGraceMs: 200 });
    const ended: string[] = [];
    s.rt.on('connection', (session) => session.on('end', ({ reason }) => ended.push(reason)));
    const c = client(url, { reconnect: { initialDelayMs: 600, maxDelayMs: 600, jitter: 'none' } });
    await c.waitFor('open', { timeoutMs: 5000 });
    proxy.mode = 'blackhole'; // the next sends never arrive and are never acked
    c.send('n', 1);
    c.send('n', 2);
    await new Promise((r) => setTimeout(r, 100));
    proxy.cut();
    proxy.mode = 'forward';
    const lostError = c.waitFor('error', { timeoutMs: 5000 });
    const reopened = await c.waitFor('open', { timeoutMs: 5000 });
    expect(reopened.resumed).toBe(false);
    const error = await lostError;
    expect(error).toBeInstanceOf(SessionLostError);
    expect((error as SessionLostError).undelivered.map((m) => m.data)).toEqual([1, 2]);
    expect(ended).toEqual(['session expired']);
    expect(s.rt.sessions.size).toBe(1);
  });

  it('a queue persisted before a reload is delivered once by the next page', async () => {
    const { s, proxy, url } = await setup();
    const atServer: number[] = [];
    s.rt.on('connection', (session) => session.on('n', (v) => atServer.push(v)));
    const saved = new Map<string, string>();
    const store: SessionStore = {
      load: (k) => (saved.has(k) ? (JSON.parse(saved.get(k) as string) as SessionSnapshot) : undefined),
      save: (k, snap) => void saved.set(k, JSON.stringify(snap)),
      remove: (k) => void saved.delete(k),
      // The pages follow each other in one process, and Node 22+ has Web Locks (per process): as a
      // store shared by tabs, the first page, never closed, would keep its lock from the next.
      perTab: true,
    };
    const queue = { storage: store, storageKey: 'page' };
    const first = client(url, { queue, reconnect: false });
    await first.waitFor('open', { timeoutMs: 5000 });
    for (let i = 1; i <= 50; i++) first.send('n', i);
    await until(() => atServer.length === 50, 5000);
    proxy.cut(); // the page loses its connection and, with no retries, stays down
    await until(() => first.state === 'closed', 5000);
    for (let i = 51; i <= 100; i++) expect(first.send('n', i)).toBe('queued');
    // the page reloads: a new instance on the same storage (the old one is simply gone)
    const second = client(url, { queue });
    const opened = await second.waitFor('open', { timeoutMs: 5000 });
    expect(opened.resumed).toBe(true);
    await until(() => atServer.length >= 100, 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(verdict(atServer, 100)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  });
});

describe('a refreshed token', () => {
  it.each([
    ['a stable identity resumes its session', (token: string) => ({ user: token.split(':')[0] }), true],
    [
      'claims that change with the token get a new session, and the client goes on',
      (token: string) => ({ user: token.split(':')[0], iat: token.split(':')[1] }),
      false,
    ],
  ])('%s', async (_label, identify, resumed) => {
    const { proxy, url } = await setup({ authenticate: (token) => (token ? identify(token) : false) });
    let minted = 0;
    const c = client(url, { auth: () => `ann:${++minted}` }); // a new token for every connect
    const opens: boolean[] = [];
    c.on('open', (o) => opens.push(o.resumed));
    await c.waitFor('open', { timeoutMs: 5000 });
    proxy.cut();
    await until(() => opens.length === 2, 10_000);
    expect(opens).toEqual([false, resumed]);
    expect(c.state).toBe('open');
    expect(minted).toBe(2);
  });
});
