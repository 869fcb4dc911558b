/**
 * The upgrade probe under faults: what happens to the session when the old link, the probe, the
 * app or the browser does something while a probe of the preferred transport is under way.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { AuthError, NotConnectedError } from '../../src/errors/index.js';
import { ahead } from '../../src/client/upgrade.js';
import type { TransportName } from '../../src/transports/transport.js';
import { FakeTransport, useFakeClients, type FakeLink } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let ws: FakeTransport;
let lp: FakeTransport;
let clients: RealtimeClient[];

useFakeClients(
  () => {
    localStorage.clear();
    ws = new FakeTransport('websocket');
    lp = new FakeTransport('longpoll');
    clients = [];
  },
  () => clients,
);

/** Open on long polling (WebSocket refused), with a probe of WebSocket opened and sent its hello. */
async function probing(options: ClientOptions = {}): Promise<{ c: RealtimeClient; old: FakeLink; probe: FakeLink }> {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [ws, lp],
    lifecycle: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    upgrade: { initialDelayMs: 5000, maxDelayMs: 60_000 },
    ...options,
  });
  clients.push(c);
  await settle();
  ws.last.drop({ code: 1006, reason: 'upgrade refused' });
  await settle();
  lp.last.accept({ resume: 'r1' });
  await settle();
  await vi.advanceTimersByTimeAsync(5000);
  const probe = ws.last;
  probe.open();
  return { c, old: lp.last, probe };
}

describe('a loss of the old link from our side while a probe runs is handled at once', () => {
  it('close() during a probe emits close, closes both links and leaves no timer', async () => {
    const { c, old, probe } = await probing();
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    c.close();
    expect(closes).toEqual([{ code: 1000, reason: 'close()', willReconnect: false }]);
    expect(old.closedWith?.code).toBe(1000);
    expect(probe.closedWith).toBeDefined();
    probe.welcome({ resumed: true, resume: 'r2' }); // a late welcome is not adopted
    await settle();
    expect(c.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('going offline during a probe lets go of the connection at once, probe included', async () => {
    const { c, old, probe } = await probing({ lifecycle: { window, document, navigator } });
    window.dispatchEvent(new Event('offline'));
    expect(c.state).toBe('reconnecting');
    expect(old.closedWith?.code).toBe(1006);
    expect(probe.closedWith).toBeDefined();
    probe.welcome({ resumed: true, resume: 'r2' }); // the probe's late welcome is not adopted
    await settle();
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ws.links).toHaveLength(2); // nothing while offline
    expect(lp.links).toHaveLength(1);
  });

  it('a frozen page closes the probe with the old link, and no probe is adopted after resume', async () => {
    const { c, old, probe } = await probing({ lifecycle: { window, document, navigator } });
    document.dispatchEvent(new Event('freeze'));
    expect(c.state).toBe('reconnecting');
    expect(old.closedWith?.code).toBe(1001);
    expect(probe.closedWith).toBeDefined();
    probe.welcome({ resumed: true, resume: 'r2' });
    await settle();
    expect(c.state).toBe('reconnecting');
  });

  it("a server's fatal close frame on the old link is obeyed, not overruled by the probe", async () => {
    const { c, old, probe } = await probing();
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    old.push({ type: 'close', code: 4403, reason: 'banned' });
    expect(c.state).toBe('closed');
    expect(errors[0]).toBeInstanceOf(AuthError);
    expect(probe.closedWith).toBeDefined();
    probe.welcome({ resumed: true, resume: 'r2' });
    await settle();
    expect(c.state).toBe('closed');
  });

  it('a 1000 with no close frame on the old link, held for a probe that then fails, is retried', async () => {
    const { c, old, probe } = await probing();
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    old.drop({ code: 1000, reason: 'proxy' }); // held: the probe may take the session over
    expect(c.state).toBe('open');
    probe.drop({ code: 1006, reason: 'probe refused' });
    await settle();
    expect(closes).toEqual([{ code: 1000, reason: 'proxy', willReconnect: true }]);
    expect(c.state).toBe('reconnecting');
  });

  it('a heartbeat timeout on the old link during a probe reconnects and abandons the probe', async () => {
    // The old link stays silent: its heartbeat pings at 20 s and gives up 10 s later.
    const { c, probe } = await probing({ connectTimeoutMs: 60_000 });
    await vi.advanceTimersByTimeAsync(24_999);
    expect(c.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(c.state).toBe('reconnecting');
    expect(probe.closedWith).toBeDefined();
    probe.welcome({ resumed: true, resume: 'r2' });
    await settle();
    expect(c.state).toBe('reconnecting');
  });
  it('close() between probes leaves no timer', async () => {
    const { c, probe } = await probing({ heartbeat: false });
    probe.drop(); // the next probe in 10 s
    c.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() while a probe waits for auth: no socket is opened for it afterwards', async () => {
    let hold = false;
    let answer: (token: string) => void = () => {};
    const auth = () => (hold ? new Promise<string>((r) => (answer = r)) : 'token');
    const { c, probe } = await probing({ heartbeat: false, auth });
    expect(c.state).toBe('open');
    hold = true;
    probe.drop(); // the next probe, in 10 s, waits for auth
    await vi.advanceTimersByTimeAsync(10_000);
    const links = ws.links.length;
    c.close();
    answer('late');
    await settle();
    expect(ws.links).toHaveLength(links);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the switch', () => {
  it('delivers every message once, in order, both ways, when both links carry traffic during the probe', async () => {
    const { c, old, probe } = await probing();
    const got: unknown[] = [];
    c.on('m', (d) => got.push(d));
    old.push({ type: 'event', seq: 1, event: 'm', data: 1 });
    c.send('up', 1); // seq 1, on the old link
    old.push({ type: 'event', seq: 2, event: 'm', data: 2 });
    c.send('up', 2); // seq 2, on the old link; the server never reads it (it moved the session)
    old.drop({ code: 1006, reason: 'replaced' });
    // The server resumed from the hello (ack 0) and acknowledged seq 1: it re-sends 1..3.
    probe.welcome({ resumed: true, ack: 1, resume: 'r2' });
    for (const seq of [1, 2, 3]) probe.push({ type: 'event', seq, event: 'm', data: seq });
    c.send('up', 3); // same tick as the switch
    await settle();
    probe.push({ type: 'event', seq: 4, event: 'm', data: 4 });
    expect(got).toEqual([1, 2, 3, 4]);
    expect(c.transport).toBe('websocket');
    expect(probe.framesOf('event').map((f) => [f.seq, f.data])).toEqual([
      [2, 2],
      [3, 3],
    ]);
  });

  it('a request pending across the switch gets its response on the new link', async () => {
    const { c, old, probe } = await probing();
    const answer = c.request('q', 1, { timeoutMs: Infinity });
    const sent = old.framesOf('request')[0];
    old.drop({ code: 1006, reason: 'replaced' });
    probe.welcome({ resumed: true, ack: 0, resume: 'r2' });
    await settle();
    expect(probe.framesOf('request')[0]).toEqual(sent); // re-sent under its number: the server drops a copy
    probe.push({ type: 'response', seq: 1, id: sent?.id as number, ok: true, data: 'a' });
    await expect(answer).resolves.toBe('a');
  });

  it('a ping() sent on the old link is not left waiting forever after the switch', async () => {
    const { c, probe } = await probing();
    const pinged = c.ping({ timeoutMs: Infinity });
    const outcome = pinged.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    probe.welcome({ resumed: true, resume: 'r2' });
    await settle();
    expect(c.transport).toBe('websocket');
    // The old link is gone: its pong will never come (the new link only answers its own pings).
    expect(await Promise.race([outcome, settle().then(() => 'pending')])).toBeInstanceOf(NotConnectedError);
  });

  it('a probe welcomed with a new session (a node without ours) is closed: the session stays on the old link', async () => {
    const { c, old, probe } = await probing();
    const events: unknown[] = [];
    for (const name of ['open', 'close', 'error', 'transport'] as const) c.on(name, (e) => events.push([name, e]));
    const got: unknown[] = [];
    c.on('m', (d) => got.push(d));
    c.send('up', 1); // in flight on the old link
    probe.welcome({ resumed: false, resume: 'other' });
    await settle();
    // Adopting it would have lost the session (and 'up' 1 with it) without an `open` to say so.
    expect(probe.framesOf('close')).toEqual([{ type: 'close', code: 1000, reason: 'session not resumed' }]);
    expect(probe.closedWith?.code).toBe(1000);
    expect(old.closedWith).toBeUndefined();
    expect(c.transport).toBe('longpoll');
    expect(events).toEqual([]);
    old.push({ type: 'event', seq: 1, event: 'm', data: 1 });
    expect(got).toEqual([1]);
    // The next probe backs off (5 s, then 10 s) and resumes on WebSocket.
    await vi.advanceTimersByTimeAsync(9_999);
    expect(ws.last).toBe(probe);
    await vi.advanceTimersByTimeAsync(1);
    ws.last.open();
    expect(ws.last.framesOf('hello')[0]).toMatchObject({ resume: 'r1', ack: 1 });
    ws.last.welcome({ resumed: true, ack: 1, resume: 'r2' });
    await settle();
    expect(c.transport).toBe('websocket');
  });

  it('a loss of the old link held for a probe welcomed with a new session reconnects', async () => {
    const { c, old, probe } = await probing();
    old.drop({ code: 1006, reason: 'gone' });
    probe.welcome({ resumed: false, resume: 'other' });
    await settle();
    expect(probe.closedWith?.code).toBe(1000);
    expect(c.state).toBe('reconnecting');
  });

  it("the probe's link dropping right after adoption reconnects on it", async () => {
    const { c, probe } = await probing();
    probe.welcome({ resumed: true, resume: 'r2' });
    probe.drop();
    await settle();
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(ws.links).toHaveLength(3);
    expect(ws.last.framesOf('hello')).toEqual([]);
  });
});

describe('probe backoff', () => {
  it('grows to maxDelayMs, resets after an upgrade, and does not probe on the preferred transport', async () => {
    const { c, probe } = await probing({ heartbeat: false, upgrade: { initialDelayMs: 5000, maxDelayMs: 20_000 } });
    probe.drop();
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      const n = ws.links.length;
      let waited = 0;
      while (ws.links.length === n) {
        await vi.advanceTimersByTimeAsync(1000);
        waited += 1000;
      }
      gaps.push(waited);
      ws.last.drop();
    }
    expect(gaps).toEqual([10_000, 20_000, 20_000]);
    await vi.advanceTimersByTimeAsync(20_000);
    ws.last.accept({ resumed: true, resume: 'r2' });
    await settle();
    expect(c.transport).toBe('websocket');
    const n = ws.links.length;
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ws.links).toHaveLength(n);
    expect(lp.links).toHaveLength(1);
    ws.last.drop(); // back to a fallback: probing starts over with the initial delay
    await vi.advanceTimersByTimeAsync(1000);
    ws.last.drop({ code: 1006, reason: 'refused' });
    await settle();
    lp.last.accept({ resumed: true, resume: 'r3' });
    await settle();
    const m = ws.links.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(ws.links).toHaveLength(m + 1);
  });

  it('upgrade: false never probes', async () => {
    const c = new RealtimeClient('ws://test.invalid/realtime', {
      transports: [ws, lp],
      lifecycle: false,
      heartbeat: false,
      upgrade: false,
    });
    clients.push(c);
    await settle();
    ws.last.drop();
    await settle();
    lp.last.accept();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ws.links).toHaveLength(1);
    expect(c.state).toBe('open');
  });
});

describe('raw mode', () => {
  it('does not probe: without a session to resume, a switch would be a new connection the app is not told of', async () => {
    const c = new RealtimeClient('ws://test.invalid/realtime', {
      transports: [ws, lp],
      lifecycle: false,
      protocol: 'raw',
      upgrade: { initialDelayMs: 5000, maxDelayMs: 60_000 },
    });
    clients.push(c);
    const opens: unknown[] = [];
    c.on('open', (e) => opens.push(e));
    await settle();
    ws.last.drop();
    await settle();
    lp.last.open();
    await settle();
    expect(c.transport).toBe('longpoll');
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ws.links).toHaveLength(1);
    expect(lp.last.closedWith).toBeUndefined();
    expect(opens).toHaveLength(1);
  });
});

describe('what a probe tries', () => {
  it('the transports ahead of the one in use, in order; none on the preferred one or on a name the order lacks', () => {
    const order = [{ name: 'websocket' }, { name: 'sockjs' }, { name: 'longpoll' }] as const;
    const names = (current: TransportName | null) => ahead(order, current).map((f) => f.name);
    expect(names('longpoll')).toEqual(['websocket', 'sockjs']);
    expect(names('sockjs')).toEqual(['websocket']);
    expect(names('websocket')).toEqual([]);
    expect(ahead([{ name: 'websocket' }, { name: 'longpoll' }], 'sockjs')).toEqual([]);
    expect(names(null)).toEqual([]);
  });
});
