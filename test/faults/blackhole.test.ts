/**
 * A black hole (the proxy stops forwarding without closing anything: a half-open link) is found
 * within the heartbeat bound by both sides, on each transport, and the session resumes once the
 * path works again.
 */
import { describe, expect, it } from 'vitest';
import type { DisconnectInfo } from '../../src/server/index.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { deferred } from '../helpers/raw-client.js';
import { TRANSPORTS, only, useFaults } from './helpers.js';

const { proxied, client } = useFaults();

const FAST = { intervalMs: 300, timeoutMs: 300 };
const SLOW = { intervalMs: 5000, timeoutMs: 5000 };
/** Timer slack on a busy machine (two cores shared with other test runs). */
const SLACK_MS = 1000;
const BOUND_MS = FAST.intervalMs + FAST.timeoutMs + SLACK_MS;

// Each side is measured with the other one slow: whichever notices first closes its socket, and
// the proxy passes that close on, which the other side would see as a plain drop.
describe.each(TRANSPORTS)('black hole over %s', (transport) => {
  it('is found by the client within intervalMs + timeoutMs, and the session resumes after', async () => {
    const { proxy, url } = await proxied({ heartbeat: SLOW });
    const c = client(url, only(transport, { heartbeat: FAST }));
    await c.waitFor('open', { timeoutMs: 8000 });
    const closed = c.waitFor('close', { timeoutMs: 10_000 });
    proxy.mode = 'blackhole';
    const start = performance.now();
    const { code } = await closed;
    const ms = performance.now() - start;
    console.log(
      `${transport}: black hole found by the client in ${ms.toFixed(0)} ms (bound ${FAST.intervalMs + FAST.timeoutMs} ms)`,
    );
    expect(code).toBe(CloseCode.HeartbeatTimeout);
    expect(ms).toBeLessThan(BOUND_MS);
    proxy.mode = 'forward';
    proxy.cut(); // the silent connections go; new ones pass
    await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toMatchObject({ resumed: true });
  });

  it('is found by the server within its intervalMs + timeoutMs', async () => {
    const { s, proxy, url } = await proxied({ heartbeat: FAST });
    const lost = deferred<{ info: DisconnectInfo; at: number }>(10_000);
    s.rt.on('connection', (session) =>
      session.on('disconnect', (info) => lost.resolve({ info, at: performance.now() })),
    );
    const c = client(url, only(transport, { heartbeat: SLOW }));
    await c.waitFor('open', { timeoutMs: 8000 });
    proxy.mode = 'blackhole';
    const start = performance.now();
    const { info, at } = await lost.promise;
    const ms = at - start;
    console.log(
      `${transport}: black hole found by the server in ${ms.toFixed(0)} ms (bound ${FAST.intervalMs + FAST.timeoutMs} ms)`,
    );
    expect(info.code).toBe(CloseCode.HeartbeatTimeout);
    expect(ms).toBeLessThan(BOUND_MS);
  });
});
