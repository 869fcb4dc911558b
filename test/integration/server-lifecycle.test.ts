import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { createRealtimeServer } from '../../src/server/index.js';
import type { EndInfo, ServerSession } from '../../src/server/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { Fixture, deferred } from '../helpers/raw-client.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

/**
 * The process's timers: vitest's own come and go meanwhile (its reports to the main process), so
 * this is only an upper bound; the server's own timers are counted exactly on its clock.
 */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

function upgradeListeners(http: Server): number {
  return http.listenerCount('upgrade');
}

describe('server.close()', () => {
  it('closes every connection with 1001, ends every session and leaves no timers or listeners', async () => {
    const timersBefore = activeTimers();
    const clock = new ManualClock(); // nothing needs to fire: the timers only have to be pending
    const { rt, http, url } = await fx.server({ clock, heartbeat: { intervalMs: 60_000, timeoutMs: 60_000 } });
    expect(upgradeListeners(http)).toBeGreaterThan(0);
    const ends: EndInfo[] = [];
    rt.on('connection', (s: ServerSession) => s.on('end', (info) => ends.push(info)));

    const live = await fx.connected(url);
    const away = await fx.connected(url);
    const awaySession = rt.sessions.get(away.welcome.sid);
    const lost = deferred<unknown>();
    awaySession?.on('disconnect', lost.resolve);
    away.client.terminate(); // waits in its grace period (a timer)
    await lost.promise;
    const handshaking = await fx.client(url); // has a handshake timer
    live.client.send({ type: 'event', seq: 1, event: 'x', data: 1 }); // has an ack timer
    // The heartbeats' shared timer, the grace period and the handshake (the ack timer comes once the frame is in).
    expect(clock.pending).toBeGreaterThanOrEqual(3);

    await rt.close();

    expect(await live.client.next('close')).toMatchObject({ code: CloseCode.GoingAway });
    expect((await live.client.waitClosed()).code).toBe(CloseCode.GoingAway);
    expect((await handshaking.waitClosed()).code).toBe(CloseCode.GoingAway);
    expect(rt.sessions.size).toBe(0);
    expect(ends.map((e) => e.code).sort()).toEqual([CloseCode.GoingAway, CloseCode.GoingAway]);
    expect(upgradeListeners(http)).toBe(0);
    expect(clock.pending).toBe(0);
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore); // nor any of ws's
    // The http server is left running.
    expect(http.listening).toBe(true);
  });

  it('is idempotent, and later upgrades are no longer answered', async () => {
    const { rt, url } = await fx.server();
    await fx.connected(url);
    const first = rt.close();
    expect(rt.close()).toBe(first);
    await first;
    await expect(fx.connected(url)).rejects.toThrow();
  });

  it('keeps other upgrade listeners of the http server', async () => {
    const { rt, http } = await fx.server();
    const other = (): void => {};
    http.on('upgrade', other);
    await rt.close();
    expect(http.listeners('upgrade')).toEqual([other]);
  });

  it('refuses a second server on the same http server and path until the first is closed', async () => {
    const { rt, http } = await fx.server();
    // It attached without a word: WebSocket and SockJS reached the first, long polling the second,
    // so a client moving between transports lost its session.
    expect(() => createRealtimeServer({ server: http })).toThrow(/already serves \/realtime/);
    expect(() => createRealtimeServer({ server: http, path: '/realtime/' })).toThrow(/already serves/);
    const other = createRealtimeServer({ server: http, path: '/other' });
    await other.close();
    await rt.close();
    const again = createRealtimeServer({ server: http });
    await again.close();
  });
});

describe('session.on() after the session ended', () => {
  it('an end listener added late (after an await in a connection listener) still hears how it ended; no other event comes', async () => {
    const { rt, url } = await fx.server();
    const added = deferred<{ heard: EndInfo[]; other: number; removedHeard: number }>();
    rt.on('connection', async (s: ServerSession) => {
      s.close(4403, 'kicked');
      await Promise.resolve(); // the app's own await (a database lookup, say)
      const heard: EndInfo[] = [];
      let other = 0;
      let removedHeard = 0;
      s.on('end', (info) => heard.push(info));
      s.on('disconnect', () => other++);
      s.on('x' as never, () => other++);
      const off = s.on('end', () => removedHeard++);
      off(); // removed before it ran: not called
      expect(heard).toEqual([]); // not within on(): in a microtask, as after any emit
      await new Promise((resolve) => setImmediate(resolve));
      added.resolve({ heard, other, removedHeard });
    });
    const { client } = await fx.connected(url).catch(() => ({ client: undefined }));
    const result = await added.promise;
    expect(result.heard).toEqual([{ code: 4403, reason: 'kicked' }]);
    expect(result.other).toBe(0);
    expect(result.removedHeard).toBe(0);
    client?.terminate();
  });

  it('an end listener that throws late reaches the server error event, not the process', async () => {
    const { rt, url } = await fx.server();
    const errors = deferred<unknown>();
    rt.on('error', errors.resolve);
    rt.on('connection', (s: ServerSession) => {
      s.close();
      s.on('end', () => {
        throw new Error('late cleanup failed');
      });
    });
    const { client } = await fx.connected(url).catch(() => ({ client: undefined }));
    expect(String(await errors.promise)).toContain('late cleanup failed');
    client?.terminate();
  });
});
