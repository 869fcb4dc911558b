/**
 * The server process restarts on the same port: sessions lived in its memory, so resuming is
 * impossible. The client reconnects with growing backoff while the port refuses, then opens with
 * `resumed: false`, reports what it had sent without an acknowledgement in a SessionLostError
 * (pending requests reject with it), and sends what was only queued in the new session.
 */
import { describe, expect, it } from 'vitest';
import { SessionLostError } from '../../src/errors/index.js';
import type { RetryContext } from '../../src/client/retry.js';
import { exponentialBackoff } from '../../src/client/retry.js';
import { until } from '../helpers/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { TRANSPORTS, only, sleep, useFaults } from './helpers.js';

const { server, client, defer } = useFaults();

const BACKOFF = { initialDelayMs: 100, maxDelayMs: 800, factor: 2, jitter: 'full' as const };

describe.each(TRANSPORTS)('server restart over %s', (transport) => {
  it('reconnects with backoff, opens resumed: false, reports the unacknowledged messages and sends the queued ones', async () => {
    const first = await server();
    const port = first.port;
    const proxy = await TcpProxy.start(port);
    defer(() => proxy.close());
    const before: number[] = [];
    first.rt.on('connection', (session) => session.on('n', (v) => before.push(v.n)));
    first.rt.handle('work', () => new Promise(() => {})); // never answers: in flight at the crash

    const c = client(
      `ws://127.0.0.1:${proxy.port}/realtime`,
      only(transport, { reconnect: BACKOFF, heartbeat: { intervalMs: 500, timeoutMs: 500 } }),
    );
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => opens.push(resumed));
    const retries: { attempt: number; delayMs: number }[] = [];
    c.on('reconnecting', (r) => retries.push(r));
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await c.waitFor('open', { timeoutMs: 8000 });
    for (let n = 1; n <= 3; n++) c.send('n', { n });
    await until(() => before.length === 3);
    // The request (the 4th frame) must be acknowledged before the crash, or it is rightly reported
    // undelivered too: wait for the server's ack of it to pass the proxy (`["a",4]`, escaped inside
    // SockJS's own framing), not for a fixed time a loaded machine may overrun.
    let requestAcked = false;
    proxy.onServerData = (chunk) => void (requestAcked ||= /\[\\?"a\\?",4\]/.test(chunk.toString('latin1')));
    const pending = c.request('work', null, { timeoutMs: 30_000 });
    pending.catch(() => {}); // asserted below
    await until(() => requestAcked);
    proxy.onServerData = undefined;
    await c.ping(); // its pong comes after the ack on the same link: the client has the ack too
    // A crash: frames already on the way are lost, the connections die, then the process is gone.
    proxy.mode = 'blackhole';
    c.send('n', { n: 4 });
    c.send('n', { n: 5 });
    await sleep(50);
    proxy.cut();
    await first.stop();
    proxy.mode = 'forward';

    await until(() => retries.length >= 3, 15_000); // the port refuses meanwhile
    expect(c.send('n', { n: 6 })).toBe('queued');
    const second = await server({}, port);
    const after: number[] = [];
    second.rt.on('connection', (session) => session.on('n', (v) => after.push(v.n)));
    const reopened = await c.waitFor('open', { timeoutMs: 15_000 });

    expect(reopened.resumed).toBe(false);
    expect(opens).toEqual([false, false]);
    const lost = errors.find((e): e is SessionLostError => e instanceof SessionLostError);
    expect(lost?.undelivered.map((m) => m.data)).toEqual([{ n: 4 }, { n: 5 }]);
    await expect(pending).rejects.toBeInstanceOf(SessionLostError);
    await until(() => after.length === 1);
    expect(after).toEqual([6]); // the queued message, in the new session; 4 and 5 are the app's call
    expect(before).toEqual([1, 2, 3]);

    // Backoff: attempts counted up from 1, each delay within its capped exponential bound.
    const streak = retries.slice(retries.findIndex((r) => r.attempt === 1));
    streak.forEach((r, i) => {
      expect(r.attempt).toBe(i + 1);
      expect(r.delayMs).toBeLessThanOrEqual(Math.min(BACKOFF.maxDelayMs, BACKOFF.initialDelayMs * 2 ** i));
    });
    const cap = (ctx: RetryContext) => exponentialBackoff({ ...BACKOFF, jitter: 'none' })(ctx);
    console.log(
      `${transport}: ${streak.length} retries, delays ${streak.map((r) => r.delayMs.toFixed(0)).join(', ')} ms ` +
        `(caps ${streak.map((r) => cap({ attempt: r.attempt, elapsedMs: 0, reason: '' })).join(', ')})`,
    );
  }, 60_000);
});
