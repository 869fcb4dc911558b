import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { ServerHeartbeat } from '../../src/server/heartbeat.js';
import type { DisconnectInfo, ServerSession } from '../../src/server/index.js';
import type { Clock } from '../../src/util/clock.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { settle } from '../helpers/clock-steps.js';
import { Fixture, deferred, until } from '../helpers/raw-client.js';

describe('ServerHeartbeat', () => {
  function setup() {
    const clock = new ManualClock(1_000);
    const calls: string[] = [];
    const hb = new ServerHeartbeat(
      clock,
      { intervalMs: 100, timeoutMs: 50 },
      {
        ping: () => calls.push(`ping@${clock.now()}`),
        dead: () => calls.push(`dead@${clock.now()}`),
      },
    );
    return { clock, calls, hb };
  }

  it('pings once after intervalMs of silence and declares death at interval + timeout', () => {
    const { clock, calls, hb } = setup();
    hb.start();
    clock.advance(99);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual(['ping@1100']);
    clock.advance(49);
    expect(calls).toEqual(['ping@1100']);
    clock.advance(1);
    expect(calls).toEqual(['ping@1100', 'dead@1150']);
    expect(clock.pending).toBe(0);
  });

  it('counts any inbound frame as liveness', () => {
    const { clock, calls, hb } = setup();
    hb.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(60);
      hb.touch();
    }
    expect(calls).toEqual([]);
    clock.advance(100);
    expect(calls).toEqual(['ping@1700']);
    hb.touch(); // the pong arrives
    clock.advance(99);
    expect(calls).toEqual(['ping@1700']);
    clock.advance(1);
    expect(calls).toEqual(['ping@1700', 'ping@1800']);
  });

  it('pings every intervalMs while pongs come back, even when timeoutMs is longer', () => {
    const clock = new ManualClock(1_000);
    const calls: number[] = [];
    const hb = new ServerHeartbeat(
      clock,
      { intervalMs: 40, timeoutMs: 1_000 },
      { ping: () => calls.push(clock.now()), dead: () => calls.push(-1) },
    );
    hb.start();
    for (let i = 0; i < 3; i++) {
      clock.advance(40);
      clock.advance(5);
      hb.touch(); // pong, 5 ms after the ping
    }
    expect(calls).toEqual([1040, 1085, 1130]);
  });

  it('finds a dead link at once after the clock jumped (sleep, stalled event loop)', () => {
    const { clock, calls, hb } = setup();
    hb.start();
    clock.advance(10_000);
    expect(calls).toEqual(['ping@1100', 'dead@1150']);
  });

  it('with the wall clock set back, still finds a silent link within interval + timeout of the jump', () => {
    // An NTP step back, a VM restored from a snapshot: timers keep running, Date.now() jumps. A
    // client's heartbeat copes (test/unit/heartbeat.test.ts); the server's waited out the jump.
    const timers = new ManualClock(1_000);
    let stepBack = 0;
    const clock: Clock = {
      now: () => timers.now() - stepBack,
      setTimeout: (fn, ms) => timers.setTimeout(fn, ms),
      clearTimeout: (handle) => timers.clearTimeout(handle),
    };
    const calls: string[] = [];
    const hb = new ServerHeartbeat(
      clock,
      { intervalMs: 100, timeoutMs: 50 },
      { ping: () => calls.push('ping'), dead: () => calls.push('dead') },
    );
    hb.start();
    timers.advance(60);
    hb.touch();
    stepBack = 3_600_000; // the peer is silent from now on
    timers.advance(100 + 50 + 100);
    expect(calls).toEqual(['ping', 'dead']);
    expect(timers.pending).toBe(0);
  });

  it('leaves no timer after stop', () => {
    const { clock, hb } = setup();
    hb.start();
    hb.stop();
    expect(clock.pending).toBe(0);
    expect(hb.running).toBe(false);
  });
});

describe('server heartbeat over a real socket', () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it('terminates a client that stops answering after interval + timeout of silence, not before', async () => {
    // The server's clock moves only in the test's steps; the client's hello came before the first.
    const clock = new ManualClock();
    const { rt, url } = await fx.server({ heartbeat: { intervalMs: 80, timeoutMs: 80 }, clock });
    const connected = deferred<ServerSession>();
    rt.on('connection', connected.resolve);
    const { client } = await fx.connected(url);
    const session = await connected.promise;
    const lost: DisconnectInfo[] = [];
    session.on('disconnect', (info) => lost.push(info));

    clock.advance(80);
    expect(await client.next('ping')).toMatchObject({ type: 'ping' });
    clock.advance(79);
    await settle(100);
    expect(lost).toEqual([]);
    expect(client.isOpen).toBe(true);
    clock.advance(1);
    expect((await client.waitClosed()).code).toBe(1006); // terminated, no close handshake
    await until(() => lost.length > 0);
    expect(lost).toEqual([{ code: CloseCode.HeartbeatTimeout, reason: 'heartbeat timeout' }]);
    expect(rt.sessions.has(session.id)).toBe(true); // the session waits for a resume
  });

  it('keeps pinging a client that answers, every intervalMs, and keeps it connected', async () => {
    const { url } = await fx.server({ heartbeat: { intervalMs: 40, timeoutMs: 30_000 } });
    const { client } = await fx.connected(url);
    client.autoPong = true;
    // Each ping is due 40 ms after the previous pong; waiting for the 30 s deadline would time out.
    for (let i = 0; i < 3; i++) await client.next('ping', 5_000);
    expect(client.isOpen).toBe(true);
  });
});
