/**
 * A black hole (the proxy stops forwarding without closing anything: a half-open link) is found
 * by each side, on each transport, once intervalMs + timeoutMs of its clock passed without
 * traffic and not before, and the session resumes once the path works again. The detecting side's
 * clock is a manual one that the test moves in steps, with real loopback I/O between them; the
 * other side's clock stands still, so it cannot notice first. No wall-clock time is measured.
 */
import { describe, expect, it } from 'vitest';
import type { DisconnectInfo } from '../../src/server/index.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { STEP_MS, advanceInSteps, closeOnClock, reopen, settle } from '../helpers/clock-steps.js';
import { until } from '../helpers/harness.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { TRANSPORTS, only, useFaults } from './helpers.js';

const { proxied, client, defer } = useFaults();

const HEARTBEAT = { intervalMs: 300, timeoutMs: 300 };
const BOUND_MS = HEARTBEAT.intervalMs + HEARTBEAT.timeoutMs;

/** A server and a client through a proxy, each on its own manual clock, open. */
async function linked(transport: (typeof TRANSPORTS)[number], detecting: 'client' | 'server') {
  const serverClock = new ManualClock();
  const clientClock = new ManualClock();
  const heartbeat = detecting === 'server' ? HEARTBEAT : undefined; // the server's default is 20 s + 10 s
  const { s, proxy, url } = await proxied({ clock: serverClock, ...(heartbeat && { heartbeat }) });
  defer(() => closeOnClock(s, serverClock)); // runs after the client's close, before the proxy's
  const c = client(url, only(transport, { clock: clientClock, heartbeat: detecting === 'client' ? HEARTBEAT : false }));
  const closes: { code: number; at: number }[] = [];
  c.on('close', ({ code }) => closes.push({ code, at: clientClock.now() }));
  await reopen(c, clientClock);
  return { s, proxy, c, closes, serverClock, clientClock };
}

describe.each(TRANSPORTS)('black hole over %s', (transport) => {
  it('is found by the client after intervalMs + timeoutMs of silence, not before, and the session resumes after', async () => {
    const { proxy, c, closes, clientClock } = await linked(transport, 'client');
    proxy.mode = 'blackhole';
    await settle(); // bytes already past the proxy arrive while the clock still reads `since`
    const since = clientClock.now();
    await advanceInSteps(clientClock, BOUND_MS - 1);
    await settle(100);
    expect(closes).toEqual([]);
    expect(c.state).toBe('open');
    clientClock.advance(STEP_MS);
    await until(() => closes.length > 0);
    expect(closes).toHaveLength(1);
    expect(closes[0]?.code).toBe(CloseCode.HeartbeatTimeout);
    expect(closes[0]?.at).toBeGreaterThanOrEqual(since + BOUND_MS);
    expect(closes[0]?.at).toBeLessThan(since + BOUND_MS + STEP_MS);
    proxy.mode = 'forward';
    proxy.cut(); // the silent connections go; new ones pass
    await expect(reopen(c, clientClock)).resolves.toMatchObject({ resumed: true });
  });

  it('is found by the server after its intervalMs + timeoutMs of silence, not before, and the session resumes after', async () => {
    const { s, proxy, c, serverClock, clientClock } = await linked(transport, 'server');
    const lost: { info: DisconnectInfo; at: number }[] = [];
    const session = [...s.rt.sessions.values()][0];
    session?.on('disconnect', (info) => lost.push({ info, at: serverClock.now() }));
    proxy.mode = 'blackhole';
    await settle();
    const since = serverClock.now();
    await advanceInSteps(serverClock, BOUND_MS - 1);
    await settle(100);
    expect(lost).toEqual([]);
    serverClock.advance(STEP_MS);
    await until(() => lost.length > 0);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.info.code).toBe(CloseCode.HeartbeatTimeout);
    expect(lost[0]?.at).toBeGreaterThanOrEqual(since + BOUND_MS);
    expect(lost[0]?.at).toBeLessThan(since + BOUND_MS + STEP_MS);
    proxy.mode = 'forward';
    proxy.cut();
    await expect(reopen(c, clientClock)).resolves.toMatchObject({ resumed: true });
    expect(s.rt.sessions.size).toBe(1);
  });
});
