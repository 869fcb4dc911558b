/**
 * Random cuts while both sides stream numbered messages, on each transport: the proxy destroys
 * every TCP connection at seeded random moments; each side still receives 1..N exactly once and in
 * order (0 lost, 0 duplicated, 0 reordered).
 */
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/harness.js';
import { TRANSPORTS, only, pump, seeded, sleep, useFaults, verdict } from './helpers.js';

const { proxied, client, defer } = useFaults();

const N = 1500;
const MIN_CUTS = 12;

describe.each(TRANSPORTS)('random cuts over %s', (transport) => {
  it(`streams ${N} numbered messages each way through ≥ ${MIN_CUTS} random cuts: 0 lost, 0 duplicated, 0 reordered`, async () => {
    const { s, proxy, url } = await proxied();
    const atServer: number[] = [];
    s.rt.on('connection', (session) => {
      session.on('n', (v) => atServer.push(v.n));
      defer(pump((n) => session.send('n', { n }), N, 5));
    });
    const c = client(url, only(transport));
    const atClient: number[] = [];
    c.on('n', (v) => atClient.push(v.n));
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => opens.push(resumed));
    await c.waitFor('open', { timeoutMs: 8000 });
    defer(pump((n) => c.send('n', { n }), N, 5));

    // Cut at seeded random intervals (60-360 ms) while anything is connected.
    const random = seeded(transport.length * 7919);
    let cuts = 0;
    let stop = false;
    defer(() => void (stop = true));
    const cutter = (async () => {
      while (!stop && cuts < MIN_CUTS) {
        await sleep(60 + random() * 300);
        if (proxy.connections > 0) {
          proxy.cut();
          cuts++;
        }
      }
    })();
    await cutter;
    await until(() => atServer.length >= N && atClient.length >= N, 60_000);
    await sleep(200); // anything extra would show up as a duplicate now

    console.log(`${transport}: ${cuts} cuts, ${opens.length} opens, ${atServer.length}/${atClient.length} received`);
    expect(verdict(atServer, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(verdict(atClient, N)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(cuts).toBeGreaterThanOrEqual(MIN_CUTS);
    expect(opens[0]).toBe(false);
    expect(opens.length).toBeGreaterThan(1);
    expect(opens.slice(1).every((resumed) => resumed)).toBe(true);
  }, 90_000);
});
