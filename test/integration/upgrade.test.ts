/**
 * The upgrade probe against the real server: a client on long polling (WebSocket upgrades refused
 * by a proxy) moves to WebSocket when upgrades get through, while both sides stream numbered
 * messages, over and over.
 */
import { describe, expect, it } from 'vitest';
import { until, useHarness } from '../helpers/harness.js';
import { pump, verdict } from '../helpers/numbered.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

type Events = { n: number };

const { server, client, defer } = useHarness<Events, Events>({
  transports: ['websocket', 'longpoll'],
  reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  upgrade: { initialDelayMs: 50, maxDelayMs: 100 },
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('upgrade probe against the real server', () => {
  it('switches long polling → WebSocket mid-stream, again and again: 0 lost / 0 duplicated / 0 reordered', async () => {
    const N = 3000;
    const s = await server();
    const proxy = await TcpProxy.start(s.port);
    defer(() => proxy.close());
    proxy.mode = 'refuse-upgrade';
    const atServer: number[] = [];
    s.rt.on('connection', (session) => {
      session.on('n', (v) => atServer.push(v));
      defer(pump((v) => session.send('n', v), N, 8));
    });
    const c = client(`ws://127.0.0.1:${proxy.port}/realtime`);
    const atClient: number[] = [];
    c.on('n', (v) => atClient.push(v));
    const switches: string[] = [];
    c.on('transport', ({ to }) => switches.push(to));
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => opens.push(resumed));
    await c.waitFor('open', { timeoutMs: 5000 });
    expect(c.transport).toBe('longpoll');
    defer(pump((v) => c.send('n', v), N, 8));
    for (let round = 0; round < 3; round++) {
      proxy.mode = 'forward'; // the next probe gets through
      await until(() => c.transport === 'websocket', 10_000);
      await pause(100);
      proxy.mode = 'refuse-upgrade'; // and the next reconnect falls back again
      proxy.cut();
      await until(() => c.transport === 'longpoll', 10_000);
      await pause(100);
    }
    proxy.mode = 'forward';
    await until(() => atServer.length >= N && atClient.length >= N, 30_000);
    await pause(200); // anything extra would show up as a duplicate now
    expect(verdict(atServer, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(verdict(atClient, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(switches.filter((t) => t === 'websocket').length).toBeGreaterThanOrEqual(3);
    expect(opens.every((resumed, i) => resumed === i > 0)).toBe(true); // one session throughout
  }, 60_000);
});
