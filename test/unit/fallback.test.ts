import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { FallbackError, type TransportError } from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let ws: FakeTransport;
let lp: FakeTransport;
let clients: RealtimeClient[];

function make(options: ClientOptions = {}): RealtimeClient {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [ws, lp],
    lifecycle: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  return c;
}

useFakeClients(
  () => {
    localStorage.clear();
    ws = new FakeTransport('websocket');
    lp = new FakeTransport('longpoll');
    clients = [];
  },
  () => clients,
);

/** WebSocket refused, long polling answers. */
async function fellBack(options: ClientOptions = {}) {
  const c = make(options);
  const switches: unknown[] = [];
  c.on('transport', (t) => switches.push(t));
  await settle();
  ws.last.drop({ code: 1006, reason: 'upgrade refused' });
  await settle();
  lp.last.accept({ resume: 'r1' });
  await settle();
  return { c, switches };
}

describe('transport fallback', () => {
  it('tries the next transport when the first fails, and says which one is in use', async () => {
    const { c, switches } = await fellBack();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('longpoll');
    expect(switches).toEqual([{ from: null, to: 'longpoll' }]);
    expect(lp.last.url).toBe('http://test.invalid/realtime/poll');
  });

  it('reports a switch only when the transport changes, not on every reconnect', async () => {
    const { c, switches } = await fellBack({ upgrade: false });
    lp.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    lp.last.accept({ resumed: true, resume: 'r1' });
    await settle();
    expect(c.state).toBe('open');
    expect(switches).toEqual([{ from: null, to: 'longpoll' }]);
  });

  it('tells the next transports that WebSocket failed, in this attempt and on the next page load', async () => {
    await fellBack();
    expect(ws.contexts[0]?.avoidWebSocket).toBe(false);
    expect(lp.contexts[0]?.avoidWebSocket).toBe(true);
    make({ upgrade: false }); // the remembered long polling goes first: WebSocket failed here before
    await settle();
    expect(lp.contexts[1]?.avoidWebSocket).toBe(true);
  });

  it('falls back when the first transport opens but never completes the handshake', async () => {
    const c = make({ connectTimeoutMs: 2000 });
    await settle();
    ws.last.open();
    await vi.advanceTimersByTimeAsync(2000);
    expect(ws.last.closedWith?.code).toBe(4001);
    lp.last.accept();
    await settle();
    expect(c.transport).toBe('longpoll');
  });

  it('skips unsupported transports and reports every failure in one error when all fail', async () => {
    ws.supported = 'no WebSocket here';
    const c = make();
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    expect(ws.links).toHaveLength(0);
    lp.last.drop({ code: 1006, reason: 'network down' });
    await settle();
    expect(errors[0]).toBeInstanceOf(FallbackError);
    const listed = (errors[0] as FallbackError).errors;
    expect(listed.map((e) => (e as TransportError).transport)).toEqual(['websocket', 'longpoll']);
    expect(listed[0]?.message).toContain('no WebSocket here');
    expect(listed[1]?.message).toContain('network down');
    expect(c.state).toBe('reconnecting');
  });

  it('reports the failure of a single transport as itself, not wrapped in a FallbackError (README)', async () => {
    const c = make({ transports: [ws] });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    ws.last.drop({ code: 1006, reason: 'network down' });
    await settle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).not.toBeInstanceOf(FallbackError);
    expect(errors[0]).toMatchObject({ code: 'TRANSPORT', transport: 'websocket' });
  });

  it('counts a transport whose isSupported or connect throws as failed and tries the next', async () => {
    const c = make();
    const throwing = (where: 'isSupported' | 'connect') => () => {
      throw new Error(`${where} broke`);
    };
    ws.isSupported = throwing('isSupported');
    await settle();
    expect(lp.links).toHaveLength(1);
    lp.last.accept();
    await settle();
    expect(c.transport).toBe('longpoll');
    ws.isSupported = () => true;
    ws.connect = throwing('connect');
    lp.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(lp.links).toHaveLength(2);
  });

  it('remembers the transport that worked so the next page load starts with it, until it expires', async () => {
    await fellBack();
    const next = make({ upgrade: false });
    await settle();
    expect(lp.links).toHaveLength(2);
    expect(ws.links).toHaveLength(1); // not tried first this time
    lp.last.accept();
    await settle();
    expect(next.transport).toBe('longpoll');
    vi.setSystemTime(Date.now() + 86_400_001);
    make({ upgrade: false });
    await settle();
    expect(ws.links).toHaveLength(2); // memory expired: WebSocket first again
  });

  it('lets the memory expire a day after the fallback was found, though each page load connects on it (no probe to clear it)', async () => {
    // With upgrade: false (and always in raw mode) nothing clears the memory but its expiry: were it
    // renewed on every connect, a page opened once a day would stay on the fallback for good after a
    // network change (office proxy, then home), never trying WebSocket first again.
    await fellBack({ upgrade: false });
    vi.setSystemTime(Date.now() + 12 * 3_600_000);
    const next = make({ upgrade: false });
    await settle();
    expect(ws.links).toHaveLength(1); // remembered: long polling first
    lp.last.accept();
    await settle();
    expect(next.transport).toBe('longpoll');
    vi.setSystemTime(Date.now() + 12 * 3_600_000 + 1);
    make({ upgrade: false });
    await settle();
    expect(ws.links).toHaveLength(2); // a day after it was found: the configured order again
    ws.last.drop({ code: 1006, reason: 'still refused' });
    await settle();
    lp.last.accept();
    await settle();
    vi.setSystemTime(Date.now() + 12 * 3_600_000);
    make({ upgrade: false });
    await settle();
    expect(ws.links).toHaveLength(2); // found again, remembered again
  });

  it('connects as configured whatever the storage does: throws (private mode), holds garbage, returns a non-string', async () => {
    const fails = () => {
      throw new DOMException('quota', 'QuotaExceededError');
    };
    const storages = [
      { getItem: fails, setItem: fails, removeItem: fails },
      { getItem: () => 'longpoll@not-a-time', setItem: () => {}, removeItem: () => {} },
      { getItem: () => 'nothing@1', setItem: () => {}, removeItem: () => {} },
      // A time ahead of the clock (set back since) is no fresh memory: kept as it is, it would outlive ttlMs.
      { getItem: () => `longpoll@${Date.now() + 10 * 86_400_000}`, setItem: () => {}, removeItem: () => {} },
      { getItem: () => 'longpoll@1e400', setItem: () => {}, removeItem: () => {} },
      // A custom Storage-like object may hand back what it holds as it is.
      { getItem: () => 42, setItem: () => {}, removeItem: () => {} },
    ];
    for (const [i, storage] of storages.entries()) {
      const c = make({ rememberTransport: { storage: storage as unknown as Storage } });
      await settle();
      expect(ws.links).toHaveLength(i + 1); // the configured order: WebSocket first
      ws.last.drop({ code: 1006, reason: 'upgrade refused' });
      await settle();
      lp.last.accept();
      await settle();
      expect(c.state).toBe('open');
      c.close();
    }
  });

  it('probes the preferred transport in the background and moves the session over without loss', async () => {
    const { c, switches } = await fellBack({ upgrade: { initialDelayMs: 5000, maxDelayMs: 60_000 } });
    c.send('m', 1);
    c.send('m', 2);
    lp.last.push({ type: 'ack', ack: 1 });
    const old = lp.last;
    await vi.advanceTimersByTimeAsync(5000);
    const probe = ws.last;
    probe.open();
    expect(probe.framesOf('hello')[0]).toMatchObject({ resume: 'r1' });
    old.drop({ code: 1006, reason: 'server moved the session' }); // the server drops the old link first
    expect(c.state).toBe('open');
    probe.welcome({ resumed: true, ack: 1, resume: 'r2' });
    await settle();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('websocket');
    expect(switches.at(-1)).toEqual({ from: 'longpoll', to: 'websocket' });
    expect(probe.framesOf('event').map((f) => f.data)).toEqual([2]);
    expect(localStorage.length).toBe(0); // back on the preferred transport: nothing to remember
  });

  it('backs off between failed probes and handles a link lost meanwhile once the probe failed', async () => {
    const { c } = await fellBack({ upgrade: { initialDelayMs: 5000, maxDelayMs: 60_000 } });
    await vi.advanceTimersByTimeAsync(5000);
    expect(ws.links).toHaveLength(2);
    ws.last.drop();
    await vi.advanceTimersByTimeAsync(9999);
    expect(ws.links).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.links).toHaveLength(3);
    lp.last.drop(); // the fallback link dies while the probe runs
    expect(c.state).toBe('open');
    ws.last.drop(); // and the probe fails too
    await settle();
    expect(c.state).toBe('reconnecting');
  });

  it('probes every transport ahead of the one in use: long polling moves to SockJS while WebSocket stays refused', async () => {
    // Behind a proxy that drops Upgrade headers, an attempt made while the server was away may walk on to long
    // polling; once SockJS gets through again, the client is not left polling for good.
    const sockjs = new FakeTransport('sockjs');
    const c = make({ transports: [ws, sockjs, lp], upgrade: { initialDelayMs: 5000, maxDelayMs: 60_000 } });
    const switches: unknown[] = [];
    c.on('transport', (t) => switches.push(t));
    await settle();
    ws.last.drop({ code: 1006, reason: 'upgrade refused' });
    await settle();
    sockjs.last.drop({ code: 1006, reason: 'server away' });
    await settle();
    lp.last.accept({ resume: 'r1' });
    await settle();
    expect(c.transport).toBe('longpoll');
    c.send('m', 1);

    await vi.advanceTimersByTimeAsync(5000); // the probe: WebSocket first, refused, then SockJS in the same attempt
    expect(ws.links).toHaveLength(2);
    ws.last.drop({ code: 1006, reason: 'upgrade refused' });
    await settle();
    expect(sockjs.links).toHaveLength(2);
    sockjs.last.open();
    expect(sockjs.last.framesOf('hello')[0]).toMatchObject({ resume: 'r1' });
    sockjs.last.welcome({ resumed: true, ack: 0, resume: 'r2' });
    await settle();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('sockjs');
    expect(switches.at(-1)).toEqual({ from: 'longpoll', to: 'sockjs' });
    expect(sockjs.last.framesOf('event').map((f) => f.data)).toEqual([1]); // re-sent once on the new link
    expect(lp.last.closedWith?.code).toBe(1000);

    await vi.advanceTimersByTimeAsync(5000); // on SockJS, the probes try WebSocket only
    expect(ws.links).toHaveLength(3);
    ws.last.drop({ code: 1006, reason: 'upgrade refused' });
    await settle();
    expect(sockjs.links).toHaveLength(2);
    expect(c.transport).toBe('sockjs');
    await vi.advanceTimersByTimeAsync(10_000); // backed off; this time WebSocket gets through
    ws.last.open();
    ws.last.welcome({ resumed: true, resume: 'r3' });
    await settle();
    expect(c.transport).toBe('websocket');
    expect(switches.at(-1)).toEqual({ from: 'sockjs', to: 'websocket' });
    expect(localStorage.length).toBe(0);
  });
});
