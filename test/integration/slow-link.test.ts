/**
 * A client on a slow link, through a proxy that delays every chunk and makes each new connection
 * cost TCP's and TLS's round trips. Scaled down tenfold to stay fast: `connectTimeoutMs` 350 with
 * 120 ms of round trip models the default 3500 ms on a 1.2 s link (2G/EDGE, congested cellular, a
 * GEO satellite's worst), where a WebSocket's handshake (TCP, TLS, the upgrade, hello → welcome)
 * takes longer than the option on every attempt. The client must still connect, on each transport
 * and with the default fallback, and stay connected (heartbeat, requests, the upgrade probe).
 */
import { describe, expect, it } from 'vitest';
import { type RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import type { TransportName } from '../../src/transports/transport.js';
import { until, useHarness } from '../helpers/harness.js';
import { LOOPBACK_CLIENT } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const RTT_MS = 120;
const SCALED: ClientOptions = {
  ...LOOPBACK_CLIENT,
  connectTimeoutMs: 350,
  rememberTransport: false,
  reconnect: { initialDelayMs: 100, maxDelayMs: 300 },
};

const { server, client, defer } = useHarness();

async function slowLink(options: ClientOptions = {}): Promise<{ c: RealtimeClient; proxy: TcpProxy; errors: Error[] }> {
  const s = await server();
  s.rt.handle('echo', (data) => data);
  const proxy = await TcpProxy.start(s.port);
  defer(() => proxy.close());
  proxy.delayMs = RTT_MS / 2;
  proxy.connectRtts = 2; // TCP, then TLS 1.3
  const c = client(`ws://127.0.0.1:${proxy.port}/realtime`, { ...SCALED, ...options });
  const errors: Error[] = [];
  c.on('error', (e) => errors.push(e));
  return { c, proxy, errors };
}

describe('a client on a slow link (round trip over a third of connectTimeoutMs)', () => {
  it.each<[string, TransportName[]]>([
    ['websocket', ['websocket']],
    ['sockjs', ['sockjs']],
    ['longpoll', ['longpoll']],
    ['the default fallback', ['websocket', 'sockjs', 'longpoll']],
  ])(
    'connects on %s after the first attempt timed out, and reconnects at once after a drop',
    async (_, transports) => {
      const { c, proxy, errors } = await slowLink({ transports });
      await c.waitFor('open', { timeoutMs: 10_000 });
      expect(c.transport).toBe(transports[0]); // no fallback for being slow: the preferred one connects
      expect(errors.length).toBeGreaterThanOrEqual(1); // a round of timeouts first: the option alone is too short
      expect(errors.length).toBeLessThanOrEqual(3);
      expect(await c.request('echo', 'hi')).toBe('hi');
      const before = errors.length;
      // Told by the event, not polled: a reconnect at once leaves 'reconnecting' within milliseconds,
      // which a poll every 10 ms could miss (CI on Node 22 did once).
      const states: string[] = [];
      c.on('state', ({ to }) => states.push(to));
      const reopened = c.waitFor('open', { timeoutMs: 10_000 });
      proxy.cut(); // the flaky link drops: the reconnect knows the link is slow
      await until(() => states.includes('reconnecting'));
      await reopened;
      expect(errors.length).toBe(before);
    },
    20_000,
  );

  it('stays open: the heartbeat (scaled) and the upgrade probe do not take the slow link for a dead one', async () => {
    const { c, proxy } = await slowLink({
      transports: ['websocket', 'longpoll'],
      heartbeat: { intervalMs: 300, timeoutMs: 1000 }, // pings every few round trips
      upgrade: { initialDelayMs: 300, maxDelayMs: 300 },
    });
    proxy.mode = 'hang-upgrade'; // WebSocket opens no more: long polling, with probes timing out
    await c.waitFor('open', { timeoutMs: 10_000 });
    expect(c.transport).toBe('longpoll');
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    // A fixed count of requests in a row, not as many as fit in 3 s (17 did, unloaded): each costs
    // at least a round trip of the proxy's delay, so they span over 2 s on any machine, longer than
    // the heartbeat's interval plus timeout, with a probe every 300 ms meanwhile.
    for (let n = 0; n < 17; n++) expect(await c.request('echo', n)).toBe(n);
    expect(closes).toEqual([]);
    expect(c.transport).toBe('longpoll');
  }, 20_000);

  it('upgrades to a WebSocket whose welcome comes after connectTimeoutMs, without a reconnect per probe', async () => {
    // Long polling on a fast path (straight to the server), the WebSocket through the slow proxy: the client opens
    // on long polling without a timeout, then each probe must outlast a WebSocket handshake over 350 ms.
    const s = await server();
    const proxy = await TcpProxy.start(s.port);
    defer(() => proxy.close());
    proxy.mode = 'refuse-upgrade';
    const c = client(`ws://127.0.0.1:${proxy.port}/realtime`, {
      ...SCALED,
      transports: ['websocket', 'longpoll'],
      urls: { longpoll: `http://127.0.0.1:${s.port}/realtime/poll` },
      upgrade: { initialDelayMs: 200, maxDelayMs: 200 },
    });
    await c.waitFor('open', { timeoutMs: 5000 });
    expect(c.transport).toBe('longpoll');
    // 95 ms: the probe's WebSocket opens and sends its hello within 350 ms, and the welcome comes back after. Before,
    // the server moved the session to each such probe, the client gave up on it, and long polling was dropped (4404):
    // a reconnect for every probe, and never an upgrade.
    proxy.delayMs = 95 / 2;
    proxy.connectRtts = 2;
    proxy.mode = 'forward';
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    await until(() => c.transport === 'websocket', 5000);
    expect(closes.length).toBeLessThanOrEqual(1); // a probe whose welcome came just too late: the server moved the session
  }, 20_000);
});
