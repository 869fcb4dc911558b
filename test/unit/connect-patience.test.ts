/**
 * The time each transport gets to connect on a slow link (connector.ts, `patience`): at 1 s or more
 * of round trip (GEO satellite, 2G, congested cellular) a handshake takes longer than
 * `connectTimeoutMs` every time, so after a round where nothing connected and a transport ran out
 * of time, the next round gives each twice as long (up to 30 s); once connected, the next attempts
 * get twice what that handshake took (at least `connectTimeoutMs`). A
 * WebSocket that hangs behind a proxy still falls back within `connectTimeoutMs`, and neither it
 * nor a timed-out upgrade probe makes later attempts slower. An upgrade probe whose hello went out
 * but whose welcome came too late gets longer each time (upgrade.ts), one that never opened not.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { ConnectTimeoutError, FallbackError } from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
const RETRY_MS = 100;
let ws: FakeTransport;
let lp: FakeTransport;
let clients: RealtimeClient[];

function make(options: ClientOptions = {}): RealtimeClient {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [ws, lp],
    lifecycle: false,
    rememberTransport: false, // WebSocket first on every attempt
    heartbeat: false, // fake time runs long here, with no pongs
    connectTimeoutMs: 1000,
    reconnect: { initialDelayMs: RETRY_MS, maxDelayMs: RETRY_MS, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  return c;
}

useFakeClients(
  () => {
    ws = new FakeTransport('websocket');
    lp = new FakeTransport('longpoll');
    clients = [];
  },
  () => clients,
);

/**
 * How long the client waited on `t`'s newest connection before giving up on it: opened (the hello
 * goes out) and never welcomed, or with `opens` false never opened (hanging at a proxy).
 */
async function waited(t: FakeTransport, opens = true, max = 60_000): Promise<number> {
  const link = t.last;
  if (opens) link.open();
  let ms = 0;
  while (!link.closedWith && ms < max) {
    await vi.advanceTimersByTimeAsync(100);
    ms += 100;
  }
  expect(link.closedWith?.code).toBe(4001); // connect timeout
  return ms;
}

/** One round where every transport times out: what each got. */
async function timedOutRound(): Promise<number[]> {
  const given = [await waited(ws), await waited(lp)];
  await vi.advanceTimersByTimeAsync(RETRY_MS); // the backoff before the next round
  return given;
}

describe('connect timeout on a slow link', () => {
  it('gives each transport twice as long after a round where every one timed out, up to 30 s', async () => {
    const c = make({ connectTimeoutMs: 8000 });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    const rounds = [];
    for (let i = 0; i < 4; i++) rounds.push(await timedOutRound());
    expect(rounds).toEqual([
      [8000, 8000],
      [16_000, 16_000],
      [30_000, 30_000],
      [30_000, 30_000],
    ]);
    expect(errors[0]).toBeInstanceOf(FallbackError);
    expect((errors[0] as FallbackError).errors.every((e) => e instanceof ConnectTimeoutError)).toBe(true);
    // The round where the handshake takes 1.5 s on this link now connects.
    ws.last.open();
    await vi.advanceTimersByTimeAsync(1500);
    ws.last.welcome();
    await settle();
    expect(c.state).toBe('open');
  });

  it('after connecting gives twice what the handshake took: a reconnect on the same slow link does not lose a round first', async () => {
    const c = make();
    await settle();
    expect(await timedOutRound()).toEqual([1000, 1000]);
    ws.last.open();
    await vi.advanceTimersByTimeAsync(1500); // over the option, within the doubled time
    ws.last.welcome();
    await settle();
    expect(c.state).toBe('open');
    ws.last.drop(); // the flaky link drops
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(await waited(ws)).toBe(3000);
  });

  it('comes back to connectTimeoutMs once a handshake is fast again: after a dead network, a hanging WebSocket falls back quickly', async () => {
    const c = make();
    await settle();
    // A black hole (Wi-Fi up, nothing beyond it): every transport times out, round after round.
    const rounds = [];
    for (let i = 0; i < 3; i++) rounds.push(await timedOutRound());
    expect(rounds).toEqual([
      [1000, 1000],
      [2000, 2000],
      [4000, 4000],
    ]);
    ws.last.accept(); // the network is back, and fast
    await settle();
    expect(c.state).toBe('open');
    ws.last.drop();
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(await waited(ws)).toBe(1000); // now behind a proxy that lets WebSocket open and hang
  });

  it('falls back past a WebSocket that hangs within connectTimeoutMs, on every attempt', async () => {
    const c = make();
    await settle();
    for (let round = 0; round < 3; round++) {
      expect(await waited(ws)).toBe(1000); // opens (a proxy let it through), never answers
      lp.last.accept();
      await settle();
      expect(c.transport).toBe('longpoll');
      lp.last.drop();
      await vi.advanceTimersByTimeAsync(RETRY_MS);
    }
  });

  it('does not grow on failures that are not timeouts', async () => {
    make();
    await settle();
    for (let round = 0; round < 3; round++) {
      ws.last.drop({ code: 1006, reason: 'refused' });
      await settle();
      lp.last.drop({ code: 1006, reason: 'refused' }); // the server is down, not slow
      await vi.advanceTimersByTimeAsync(RETRY_MS);
    }
    expect(await waited(ws)).toBe(1000);
  });

  it('an upgrade probe that never opens times out within connectTimeoutMs and leaves the open link alone', async () => {
    const c = make({ upgrade: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    await settle();
    ws.last.drop({ code: 1006, reason: 'refused' });
    await settle();
    lp.last.accept();
    await settle();
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    for (let probe = 0; probe < 3; probe++) {
      await vi.advanceTimersByTimeAsync(5000);
      expect(await waited(ws, false)).toBe(1000); // a WebSocket hanging at a proxy
      expect(c.state).toBe('open');
      expect(c.transport).toBe('longpoll');
    }
    expect(closes).toEqual([]);
    lp.last.drop();
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(await waited(ws)).toBe(1000); // nor do later attempts get longer
  });

  it('gives an upgrade probe twice as long after one that timed out after its hello went out, until it upgrades', async () => {
    const c = make({ upgrade: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    await settle();
    ws.last.drop({ code: 1006, reason: 'refused' });
    await settle();
    lp.last.accept();
    await settle();
    const given = [];
    for (let probe = 0; probe < 3; probe++) {
      await vi.advanceTimersByTimeAsync(5000);
      given.push(await waited(ws)); // the hello went out, the welcome is still on its way
    }
    expect(given).toEqual([1000, 2000, 4000]);
    await vi.advanceTimersByTimeAsync(5000);
    ws.last.open();
    await vi.advanceTimersByTimeAsync(3000);
    ws.last.welcome({ resumed: true });
    await settle();
    expect(c.transport).toBe('websocket');
    ws.last.drop();
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    // The client's own attempts: twice what the probe's handshake took (3 s), the link being that slow.
    expect(await waited(ws)).toBe(6000);
  });

  it('gives an auth function the longer time too: a token fetched over the same slow link', async () => {
    let calls = 0;
    const c = make({
      transports: [ws],
      auth: () => new Promise<string>((resolve) => setTimeout(() => resolve(`t${++calls}`), 1500)),
    });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors[0]).toBeInstanceOf(ConnectTimeoutError);
    expect(ws.links).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(RETRY_MS + 1500);
    expect(ws.links).toHaveLength(1);
    ws.last.accept();
    await settle();
    expect(c.state).toBe('open');
  });
});

describe('upgrade probe patience over several transports', () => {
  it('doubles after a probe whose WebSocket hello went out, even when a transport after it failed before sending its own', async () => {
    // On long polling the probe tries WebSocket, then SockJS. In surelink.min.js without sockjs-client's
    // script, SockJS fails at once ("SockJS is not loaded"): the probe's outcome must still count the hello
    // WebSocket sent, else every probe gets the same short time on a slow link and never upgrades.
    const sj = new FakeTransport('sockjs');
    const c = make({ transports: [ws, sj, lp], upgrade: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    await settle();
    ws.last.drop({ code: 1006, reason: 'refused' });
    await settle();
    sj.last.drop({ code: 1006, reason: 'SockJS is not loaded' });
    await settle();
    lp.last.accept();
    await settle();
    const given = [];
    for (let probe = 0; probe < 3; probe++) {
      await vi.advanceTimersByTimeAsync(5000);
      given.push(await waited(ws)); // the hello went out, the welcome is still on its way
      await settle();
      expect(sj.links).toHaveLength(probe + 2);
      sj.last.drop({ code: 1006, reason: 'SockJS is not loaded' });
      await settle();
      expect(c.transport).toBe('longpoll');
    }
    expect(given).toEqual([1000, 2000, 4000]);
  });
});
