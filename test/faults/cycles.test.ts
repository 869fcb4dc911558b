/**
 * 10,000 connect/drop cycles leave nothing behind: no growing number of timers, listeners or
 * handles, no growing heap. In process (a transport that keeps only the current link, a manual
 * clock that counts its timers, a lifecycle environment that counts its listeners), both for one
 * client whose link drops over and over and for clients created, opened and closed; then a
 * smaller number of cycles over real loopback sockets against the real server.
 */
import { describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { LifecycleEnvironment, EventTargetLike } from '../../src/client/lifecycle.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import type { Transport, TransportFactory, TransportHandlers } from '../../src/transports/transport.js';
import { until } from '../helpers/harness.js';
import { ManualClock, flushMicrotasks } from '../helpers/manual-clock.js';
import { type Numbered, only, useFaults } from './helpers.js';

const CYCLES = 10_000;

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap in use after a full collection (the faults project runs with --expose-gc). */
function heapMiB(): number {
  if (!gc) throw new Error('global.gc is missing: run with --expose-gc (the faults project in vitest.config.ts does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Handles and requests keeping the process alive, by type (timers, sockets, ...). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** An EventTarget stand-in that counts the listeners attached to it. */
class CountingTarget implements EventTargetLike {
  readonly #listeners = new Set<string>();
  #seq = 0;
  readonly #ids = new WeakMap<object, number>();
  addEventListener(type: string, listener: (ev: Event) => void): void {
    this.#listeners.add(`${type}:${this.#id(listener)}`);
  }
  removeEventListener(type: string, listener: (ev: Event) => void): void {
    this.#listeners.delete(`${type}:${this.#id(listener)}`);
  }
  get count(): number {
    return this.#listeners.size;
  }
  #id(listener: object): number {
    let id = this.#ids.get(listener);
    if (id === undefined) this.#ids.set(listener, (id = ++this.#seq));
    return id;
  }
}

/** A transport that keeps only its current link, so the test itself retains nothing per cycle. */
class OneLink implements TransportFactory {
  readonly name = 'websocket' as const;
  handlers: TransportHandlers | undefined;
  sent = 0;
  isSupported(): true {
    return true;
  }
  connect(_url: string, handlers: TransportHandlers): Transport {
    this.handlers = handlers;
    return {
      name: 'websocket',
      send: () => void this.sent++,
      close: () => void (this.handlers = undefined),
    };
  }
  /**
   * Opens the link, answers the hello (acknowledging the client's earlier `seq - 1` events, one
   * per cycle) and sends event `seq`.
   */
  accept(seq: number, resumed: boolean): void {
    const h = this.handlers;
    h?.onOpen();
    const hb = { intervalMs: 20_000, timeoutMs: 10_000 };
    h?.onMessage(
      encodeFrame({ type: 'welcome', v: 1, sid: 's', resume: 'r', resumed, ack: resumed ? seq - 1 : 0, hb }),
    );
    h?.onMessage(encodeFrame({ type: 'event', seq, event: 'n', data: { n: seq } }));
  }
  drop(): void {
    const h = this.handlers;
    this.handlers = undefined;
    h?.onClose({ code: 1006, reason: 'dropped' });
  }
}

interface Sample {
  readonly cycle: number;
  readonly heapMiB: number;
  readonly timers: number;
  readonly listeners: number;
  readonly handles: number;
}

function report(name: string, samples: readonly Sample[]): void {
  const rows = samples.map(
    (s) =>
      `#${s.cycle}: heap ${s.heapMiB.toFixed(2)} MiB, timers ${s.timers}, listeners ${s.listeners}, handles ${s.handles}`,
  );
  console.log(`${name}\n  ${rows.join('\n  ')}`);
}

/** The first and the last sample. */
function ends<T>(samples: readonly T[]): { early: T; last: T } {
  const early = samples[0];
  const last = samples.at(-1);
  if (early === undefined || last === undefined) throw new Error('no samples taken');
  return { early, last };
}

function lifecycleEnv(): { env: LifecycleEnvironment; listeners: () => number } {
  const window = new CountingTarget();
  const document = Object.assign(new CountingTarget(), { visibilityState: 'visible' });
  return { env: { window, document, navigator: { onLine: true } }, listeners: () => window.count + document.count };
}

describe(`${CYCLES} connect/drop cycles`, () => {
  it('one client whose link drops over and over: timers, listeners and heap stay flat', async () => {
    const clock = new ManualClock();
    const transport = new OneLink();
    const { env, listeners } = lifecycleEnv();
    const c = new RealtimeClient<Numbered, Numbered>('ws://cycles.invalid/realtime', {
      transports: [transport],
      clock,
      lifecycle: env,
      autoConnect: false,
      rememberTransport: false,
      reconnect: { policy: () => 1 },
    });
    let received = 0;
    c.on('n', () => received++);
    c.connect();
    const samples: Sample[] = [];
    const handlesBefore = process.getActiveResourcesInfo().length;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      await flushMicrotasks();
      transport.accept(cycle, cycle > 1);
      await flushMicrotasks(); // the client adopts the link
      c.send('n', { n: cycle });
      transport.drop();
      clock.advance(1);
      if (cycle === 1000 || cycle === 5000 || cycle === CYCLES) {
        samples.push({
          cycle,
          heapMiB: heapMiB(),
          timers: clock.pending,
          listeners: listeners(),
          handles: process.getActiveResourcesInfo().length - handlesBefore,
        });
      }
    }
    report('one client, link dropped each cycle', samples);
    expect(received).toBe(CYCLES);
    expect(transport.sent).toBeGreaterThanOrEqual(2 * CYCLES); // a hello and the event, each cycle
    const { early, last } = ends(samples);
    expect(last.timers).toBeLessThanOrEqual(early.timers);
    expect(last.listeners).toBe(early.listeners);
    expect(last.handles).toBeLessThanOrEqual(early.handles);
    expect(last.heapMiB - early.heapMiB).toBeLessThan(1); // 9,000 cycles: < 117 bytes each
    c.close();
    expect(clock.pending).toBe(0);
    expect(listeners()).toBe(0);
  }, 60_000);

  it('clients created, opened and closed: each leaves no timer and no listener, and the heap stays flat', async () => {
    const clock = new ManualClock();
    const { env, listeners } = lifecycleEnv();
    const samples: Sample[] = [];
    const handlesBefore = process.getActiveResourcesInfo().length;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const transport = new OneLink();
      const c = new RealtimeClient<Numbered, Numbered>('ws://cycles.invalid/realtime', {
        transports: [transport],
        clock,
        lifecycle: env,
        autoConnect: false,
        rememberTransport: false,
      });
      c.on('n', () => {});
      c.connect();
      await flushMicrotasks();
      transport.accept(1, false);
      await flushMicrotasks();
      if (c.state !== 'open') throw new Error(`cycle ${cycle}: not open (${c.state})`);
      c.send('n', { n: cycle });
      c.close();
      if (clock.pending !== 0 || listeners() !== 0)
        throw new Error(`cycle ${cycle}: ${clock.pending} timers, ${listeners()} listeners left`);
      if (cycle === 1000 || cycle === 5000 || cycle === CYCLES) {
        samples.push({
          cycle,
          heapMiB: heapMiB(),
          timers: clock.pending,
          listeners: listeners(),
          handles: process.getActiveResourcesInfo().length - handlesBefore,
        });
      }
    }
    report('client created, opened, closed each cycle', samples);
    const { early, last } = ends(samples);
    expect(last.handles).toBeLessThanOrEqual(early.handles);
    expect(last.heapMiB - early.heapMiB).toBeLessThan(1);
  }, 60_000);
});

const { proxied, client } = useFaults();
const REAL_CYCLES = 1000;

describe(`${REAL_CYCLES} cycles over real sockets`, () => {
  it('cut, reconnect and resume against the real server: handles, sessions and heap stay flat', async () => {
    const { s, proxy, url } = await proxied();
    let received = 0;
    s.rt.on('connection', (session) => session.on('n', () => received++));
    const c = client(url, only('websocket', { reconnect: { policy: () => 0 } }));
    await c.waitFor('open', { timeoutMs: 8000 });
    const samples: (Sample & { byType: Record<string, number> })[] = [];
    for (let cycle = 1; cycle <= REAL_CYCLES; cycle++) {
      const reopened = c.waitFor('open', { timeoutMs: 8000 });
      proxy.cut();
      await reopened;
      c.send('n', { n: cycle });
      if (cycle === 200 || cycle === 600 || cycle === REAL_CYCLES) {
        await until(() => received === cycle);
        const byType = resources();
        samples.push({
          cycle,
          heapMiB: heapMiB(),
          timers: byType.Timeout ?? 0,
          listeners: s.http.listenerCount('upgrade') + s.http.listenerCount('request'),
          handles: process.getActiveResourcesInfo().length,
          byType,
        });
      }
    }
    report('real loopback sockets, cut each cycle', samples);
    console.log(`  handles by type at the end: ${JSON.stringify(samples.at(-1)?.byType)}`);
    const { early, last } = ends(samples);
    expect(s.rt.sessions.size).toBe(1);
    expect(last.listeners).toBe(early.listeners);
    expect(last.timers).toBeLessThanOrEqual(early.timers + 2);
    expect(last.handles).toBeLessThanOrEqual(early.handles + 4);
    // Warm-up (JIT, socket pools) is over by cycle 200; 2 MiB over 800 cycles would be 2.6 KB each.
    expect(last.heapMiB - early.heapMiB).toBeLessThan(2);
  }, 90_000);
});
