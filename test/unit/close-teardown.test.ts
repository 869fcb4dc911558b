/**
 * `close()` settles everything and leaves nothing behind, whatever state the client is in: also
 * once a fatal close already stopped it, and for what the app asks of it after `close()`.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { ClosedError } from '../../src/errors/index.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({ reconnect: { initialDelayMs: 1000, jitter: 'none' } });
const { make } = t;

/** Open, then stopped for good by the server (4401): `closed`, not by `close()`. */
async function stoppedByServer(options: ClientOptions = {}): Promise<RealtimeClient> {
  const c = make(options);
  await settle();
  t.fake.last.accept();
  await settle();
  t.fake.last.push({ type: 'close', code: 4401, reason: 'token expired' });
  expect(c.state).toBe('closed');
  return c;
}

describe('close() after a fatal close already stopped the client', () => {
  it('rejects a request made meanwhile with ClosedError, reports it, and leaves no timer', async () => {
    const c = await stoppedByServer({ heartbeat: false });
    const pending = c.request('later');
    const settled = expect(pending).rejects.toBeInstanceOf(ClosedError);
    expect(c.close().map((m) => m.event)).toEqual(['later']);
    expect(vi.getTimerCount()).toBe(0);
    await settled;
  });

  it('leaves no queue expiry timer behind', async () => {
    const c = await stoppedByServer({ heartbeat: false, queue: { ttlMs: 60_000 } });
    expect(c.send('chat', { text: 'queued' })).toBe('queued');
    c.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('close() mid-handshake with everything pending', () => {
  it('settles waitFor, stream, request and leaves no timer or socket', async () => {
    const c = make({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    await settle();
    t.fake.last.open(); // hello out, no welcome yet
    const w = c.waitFor('open', { timeoutMs: 5000, signal: new AbortController().signal });
    const s = c.stream('chat').next();
    const r = c.request('x', 1, { timeoutMs: 5000 });
    const checks = [
      expect(w).rejects.toBeInstanceOf(ClosedError),
      expect(r).rejects.toBeInstanceOf(ClosedError),
      expect(s).resolves.toEqual({ done: true, value: undefined }),
    ];
    c.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(t.fake.last.closedWith).toBeDefined();
    await Promise.all(checks);
  });
});

describe('close() from every state, with everything pending, leaves nothing behind', () => {
  /** Counts listeners added minus removed on anything given to it. */
  function counter() {
    const n = new Map<string, number>();
    const wrap = <T extends { addEventListener: unknown; removeEventListener: unknown }>(t: T, name: string): T => {
      const add = (t.addEventListener as (...a: unknown[]) => void).bind(t);
      const rm = (t.removeEventListener as (...a: unknown[]) => void).bind(t);
      t.addEventListener = ((...a: unknown[]) => (n.set(name, (n.get(name) ?? 0) + 1), add(...a))) as never;
      t.removeEventListener = ((...a: unknown[]) => (n.set(name, (n.get(name) ?? 0) - 1), rm(...a))) as never;
      return t;
    };
    return { n, wrap };
  }

  const states: Record<string, (o: ClientOptions) => Promise<RealtimeClient>> = {
    idle: async (o) => make({ ...o, autoConnect: false }),
    connecting: async (o) => {
      const c = make(o);
      await settle();
      return c;
    },
    'hello sent': async (o) => {
      const c = make(o);
      await settle();
      t.fake.last.open();
      return c;
    },
    open: async (o) => {
      const c = make(o);
      await settle();
      t.fake.last.accept();
      await settle();
      return c;
    },
    reconnecting: async (o) => {
      const c = make(o);
      await settle();
      t.fake.last.accept();
      await settle();
      t.fake.last.drop();
      t.fake.last.closedWith = { code: 1006, reason: 'dropped' }; // by the peer
      return c;
    },
    'stopped by the server': async (o) => stoppedByServer(o),
  };

  it.each(Object.keys(states))('%s', async (name) => {
    const { n, wrap } = counter();
    const target = wrap(new EventTarget(), 'lifecycle');
    const c = await (states[name] as (o: ClientOptions) => Promise<RealtimeClient>)({
      lifecycle: { window: target, document: target },
    });
    const signal = wrap(new AbortController().signal, 'signal');
    const settled: unknown[] = [];
    const note = (p: Promise<unknown>) => void p.then(settled.push.bind(settled), settled.push.bind(settled));
    note(c.waitFor('open', { timeoutMs: 60_000, signal }));
    note(c.request('x', 1, { timeoutMs: 60_000, signal }));
    const open = c.state === 'open';
    if (open) note(c.ping({ timeoutMs: 60_000 }));
    const stream = c.stream('chat', { signal });
    note(stream.next());
    const undelivered = c.close();
    await settle();
    expect(undelivered.map((m) => m.event)).toContain('x');
    expect(c.state).toBe('closed');
    expect(settled).toHaveLength(open ? 4 : 3); // each settled
    expect(settled.filter((s) => s instanceof Error && !(s instanceof ClosedError))).toEqual([]);
    expect(settled).toContainEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
    expect(n.get('signal')).toBe(0);
    expect(n.get('lifecycle') ?? 0).toBe(0);
    expect(t.fake.links.every((l) => l.closedWith)).toBe(true);
  });
});
