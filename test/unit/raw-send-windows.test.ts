/**
 * `protocol: 'raw'`: a text sent from a lifecycle handler that runs while the link is being taken or
 * lost (`transport`, `close`, `error`). Raw servers send no acks, so a text is delivered only if it
 * is written to a socket: it must be written now, or queued and written on the next link, in order.
 * In a `close` or `error` handler of a loss the state still reads `open`, but the link is gone.
 */
import { describe, expect, it, vi } from 'vitest';
import { NotConnectedError } from '../../src/errors/index.js';
import { settle, useFakeClientFixture } from '../helpers/fake-transport.js';

const t = useFakeClientFixture({
  protocol: 'raw',
  heartbeat: false,
  reconnect: { initialDelayMs: 1000, jitter: 'none' },
});
const raw = t.make;

describe('raw mode: a text sent while the link goes', () => {
  it("from a 'close' handler is queued and written on the next link, not reported sent and lost", async () => {
    const c = raw();
    await settle();
    t.fake.last.open();
    await settle();
    const results: string[] = [];
    c.on('close', () => results.push(c.send('sent from close')));
    t.fake.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    t.fake.last.open();
    await settle();
    expect(t.fake.links.map((l) => l.sent)).toEqual([[], ['sent from close']]);
    expect(results).toEqual(['queued']);
    expect(c.queued).toBe(0);
  });
});

describe('a ping() while the link goes', () => {
  it("from a 'close' handler rejects at once with NotConnectedError, not after its timeout", async () => {
    const c = raw({ protocol: 'surelink' });
    await settle();
    t.fake.last.accept();
    await settle();
    let ping: Promise<number> | undefined;
    c.on('close', () => void (ping = c.ping({ timeoutMs: 60_000 })));
    t.fake.last.drop();
    const outcome = ping?.catch((e: unknown) => e);
    expect(await Promise.race([outcome, settle().then(() => 'pending')])).toBeInstanceOf(NotConnectedError);
  });
});

describe('raw mode: a text sent while the link is taken', () => {
  it("from a 'transport' handler goes before a text sent after open", async () => {
    const c = raw();
    c.on('transport', () => c.send('hello from transport'));
    await settle();
    t.fake.last.open();
    await settle();
    expect(c.state).toBe('open');
    c.send('after open');
    expect(t.fake.last.sent).toEqual(['hello from transport', 'after open']);
    expect(c.queued).toBe(0);
  });
});

describe('raw mode: a text the transport did not take in an open handler', () => {
  it('is queued and written on the next link, not reported sent and lost', async () => {
    const c = raw();
    const results: string[] = [];
    c.once('open', () => results.push(c.send('subscribe')));
    await settle();
    const first = t.fake.last;
    vi.spyOn(first, 'send').mockImplementationOnce(() => {
      throw new Error('boom');
    });
    first.open();
    await settle();
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    t.fake.last.open();
    await settle();
    expect(t.fake.links.map((l) => l.sent)).toEqual([[], ['subscribe']]);
    expect(results).toEqual(['queued']);
  });
});

describe('a text sent from a transport handler, once the queue was flushed', () => {
  it('goes out before open, not left queued on an open link until the next send (raw mode)', async () => {
    const c = raw({ queue: { ttlMs: 5000 } });
    const results: string[] = [];
    c.on('transport', () => results.push(c.send('hello from transport')));
    await settle();
    t.fake.last.open();
    await settle();
    expect(t.fake.last.sent).toEqual(['hello from transport']);
    expect([results, c.queued]).toEqual([['sent'], 0]);
  });

  it('goes out before open, not expired by the queue TTL on an open link (surelink)', async () => {
    const c = raw({ protocol: 'surelink', queue: { ttlMs: 5000 } });
    const expired: unknown[] = [];
    c.on('queue:expired', (e) => expired.push(...e.expired));
    c.on('transport', () => c.send('hello', 1));
    await settle();
    t.fake.last.accept();
    await settle();
    await vi.advanceTimersByTimeAsync(6000);
    expect(t.fake.last.framesOf('event').map((f) => [f.seq, f.event])).toEqual([[1, 'hello']]);
    expect([expired, c.queued]).toEqual([[], 0]);
  });
});

describe('raw mode: a text sent while the flush expires queued texts', () => {
  it("from a 'queue:expired' handler goes after the texts still queued, not ahead of them", async () => {
    const c = raw({ queue: { ttlMs: 5000 } });
    c.on('queue:expired', () => c.send('c'));
    await settle();
    c.send('a');
    await vi.advanceTimersByTimeAsync(3000);
    c.send('b');
    // A laptop waking: the wall clock moved on, no timer ran ('a' expires at the flush).
    vi.setSystemTime(Date.now() + 2500);
    t.fake.last.open();
    await settle();
    expect(t.fake.last.sent).toEqual(['b', 'c']);
  });
});

describe("a text sent from a lost session's error handler, before the welcome's frame limit applies", () => {
  it('does not flush queued messages over that limit (the server would end the session: 4413)', async () => {
    const c = raw({ protocol: 'surelink' });
    await settle();
    t.fake.last.accept();
    await settle();
    c.send('m', 1); // in flight, never acknowledged
    t.fake.last.drop();
    c.send('big', 'x'.repeat(3000)); // queued, over what the next server takes
    c.on('error', () => c.send('h', 2));
    const oversize: unknown[] = [];
    c.on('queue:oversize', (e) => oversize.push(...e.oversize.map((m) => m.event)));
    await vi.advanceTimersByTimeAsync(1000);
    t.fake.last.accept({ resume: 'r2', resumed: false, f: 1000 }); // a new session: 'm' is reported lost
    await settle();
    expect(t.fake.last.framesOf('event').map((f) => f.event)).toEqual(['h']);
    expect(oversize).toEqual(['big']);
  });
});
