/**
 * A transport whose `send` throws (a custom transport, a socket in an odd state): the throw reaches
 * neither the app's `send()` nor a timer or microtask; the link is lost as in a drop (1006), and
 * what was not written goes again on the next link, once.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { TransportError } from '../../src/errors/index.js';
import { collectEscaped } from '../helpers/escaped.js';
import { FakeTransport, drivenOptions, type FakeLink } from '../helpers/fake-transport.js';
import { ManualClock, flushMicrotasks } from '../helpers/manual-clock.js';

const boom = new Error('boom');
/** Makes the next `n` writes on `link` throw, as a broken transport would. */
const breakNext = (link: FakeLink, n = 1) => {
  const spy = vi.spyOn(link, 'send');
  for (let i = 0; i < n; i++)
    spy.mockImplementationOnce(() => {
      throw boom;
    });
};

const escaped = collectEscaped();

/** Microtasks, then one macrotask: an unhandled rejection is reported by then. */
const settle = async () => {
  await flushMicrotasks();
  await new Promise((resolve) => setImmediate(resolve));
};

function setup(options: ClientOptions = {}) {
  const clock = new ManualClock();
  const fake = new FakeTransport();
  const c = new RealtimeClient('ws://test.invalid/realtime', { ...drivenOptions(fake, clock), ...options });
  const closes: unknown[] = [];
  const errors: unknown[] = [];
  c.on('close', (e) => closes.push(e));
  c.on('error', (e) => errors.push(e));
  /** Connects (again, after the backoff of 1 ms) and accepts the link. */
  const open = async (welcome: Parameters<FakeLink['accept']>[0] = {}) => {
    if (c.state === 'idle') c.connect();
    clock.advance(1);
    await flushMicrotasks();
    if (options.protocol === 'raw') fake.last.open();
    else fake.last.accept(welcome);
    await flushMicrotasks();
  };
  return { clock, fake, c, closes, errors, open };
}

const events = (link: FakeLink) => link.framesOf('event').map((f) => [f.seq, f.event]);

describe('a transport whose send throws', () => {
  it("does not throw from the app's send(): the link drops (1006) and the message goes again after the resume, once", async () => {
    const { fake, c, closes, errors, open } = setup();
    await open();
    const first = fake.last;
    breakNext(first);
    expect(c.send('chat', 'a')).toBe('sent'); // in the log, unacknowledged, like any message sent before a drop
    expect(closes).toEqual([{ code: 1006, reason: 'send failed: Error: boom', willReconnect: true }]);
    // Reported, unlike a network drop: a transport that throws is a fault the app should hear of.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TransportError);
    expect(errors[0]).toMatchObject({
      transport: 'websocket',
      closeCode: 1006,
      message: 'websocket: send failed: Error: boom',
      cause: boom,
    });
    expect(first.closedWith).toEqual({ code: 1006, reason: 'send failed: Error: boom' }); // released
    expect(c.state).toBe('reconnecting');
    expect(c.send('chat', 'b')).toBe('queued');
    await open({ resumed: true, resume: 'r1', ack: 0 });
    expect(events(first)).toEqual([]);
    expect(events(fake.last)).toEqual([
      [1, 'chat'],
      [2, 'chat'],
    ]);
    fake.last.push({ type: 'ack', ack: 2 });
    expect(c.close()).toEqual([]);
    await settle();
    expect(escaped).toEqual([]);
  });

  it('a throw while flushing the offline queue before open: open, then the drop, then the queue after the resume', async () => {
    const { fake, c, closes, open } = setup();
    c.connect();
    c.send('q', 1);
    c.send('q', 2);
    await flushMicrotasks();
    const first = fake.last;
    first.open();
    breakNext(first, 2); // the first queued frame, then what the flush writes after it
    const seen: string[] = [];
    c.on('open', () => seen.push('open'));
    c.on('close', () => seen.push('close'));
    expect(() => first.welcome()).not.toThrow();
    await flushMicrotasks();
    expect(seen).toEqual(['open', 'close']);
    expect(closes).toMatchObject([{ code: 1006, willReconnect: true }]);
    await open({ resumed: true, resume: 'r1', ack: 0 });
    expect(events(fake.last)).toEqual([
      [1, 'q'],
      [2, 'q'],
    ]);
    await settle();
    expect(escaped).toEqual([]);
  });

  it('a throw in the end-of-tick flush of a batch is no unhandled rejection: the batch goes after the resume', async () => {
    const { fake, c, closes, open } = setup();
    await open({ b: 1 << 20 });
    const first = fake.last;
    c.send('m', 1); // written at once
    breakNext(first);
    c.send('m', 2); // these two wait for the end of the tick, where the write throws
    c.send('m', 3);
    await settle();
    expect(escaped).toEqual([]);
    expect(closes).toMatchObject([{ code: 1006, willReconnect: true }]);
    await open({ resumed: true, resume: 'r1', ack: 1 });
    expect(events(fake.last)).toEqual([
      [2, 'm'],
      [3, 'm'],
    ]);
  });

  it('a throw while writing a heartbeat ping drops the link instead of escaping from the timer', async () => {
    const { clock, fake, c, closes, open } = setup({ heartbeat: { intervalMs: 1000, timeoutMs: 1000 } });
    await open({ hb: { intervalMs: 1000, timeoutMs: 1000 } });
    breakNext(fake.last);
    expect(() => clock.advance(1000)).not.toThrow();
    expect(closes).toMatchObject([{ code: 1006, willReconnect: true }]);
    expect(c.state).toBe('reconnecting');
  });

  it('a throw while writing the hello fails the attempt with a TransportError whose cause is the throw', async () => {
    const { clock, fake, c, errors } = setup();
    c.connect();
    await flushMicrotasks();
    const first = fake.last;
    breakNext(first);
    expect(() => first.open()).not.toThrow();
    await flushMicrotasks();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TransportError);
    expect(errors[0]).toMatchObject({ closeCode: 1006, cause: boom });
    expect(first.closedWith).toBeDefined();
    expect(c.state).toBe('reconnecting');
    clock.advance(1);
    await flushMicrotasks();
    fake.last.accept();
    await flushMicrotasks();
    expect(c.state).toBe('open');
  });

  it('raw mode: a text the transport did not take is not counted as written: queued, and written once on the next link', async () => {
    const { fake, c, closes, errors, open } = setup({ protocol: 'raw', heartbeat: false });
    await open();
    const first = fake.last;
    breakNext(first);
    expect(c.send('a')).toBe('queued');
    expect(closes).toMatchObject([{ code: 1006, willReconnect: true }]);
    expect(errors).toMatchObject([{ code: 'TRANSPORT', cause: boom }]);
    expect(c.queued).toBe(1);
    await open();
    expect(first.sent).toEqual([]);
    expect(fake.last.sent).toEqual(['a']);
    expect(c.close()).toEqual([]);
  });

  it('raw mode: a queue flush that throws half-way writes the rest on the next link, in order, nothing twice', async () => {
    const { fake, c, open } = setup({ protocol: 'raw', heartbeat: false });
    c.connect();
    c.send('a');
    c.send('b');
    c.send('c');
    await flushMicrotasks();
    const first = fake.last;
    vi.spyOn(first, 'send').mockImplementation((text) => {
      if (text === 'b') throw boom;
      first.sent.push(text);
    });
    first.open();
    await flushMicrotasks();
    expect(first.sent).toEqual(['a']);
    await open();
    expect(fake.last.sent).toEqual(['b', 'c']);
    expect(c.close()).toEqual([]);
    await settle();
    expect(escaped).toEqual([]);
  });
});
