import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import {
  AuthError,
  ConnectTimeoutError,
  ProtocolError,
  TimeoutError,
  RemoteError,
  AbortError,
  ClosedError,
  InvalidArgumentError,
  SessionLostError,
  NotConnectedError,
} from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

interface ServerEvents {
  chat: { from: string; text: string };
}
interface ClientEvents {
  chat: { text: string };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

let fake: FakeTransport;
let clients: RealtimeClient<ServerEvents, ClientEvents>[];

function make(options: ClientOptions = {}): RealtimeClient<ServerEvents, ClientEvents> {
  const c = new RealtimeClient<ServerEvents, ClientEvents>('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    reconnect: { initialDelayMs: 1000, maxDelayMs: 8000, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  return c;
}

async function connected(options: ClientOptions = {}) {
  const c = make(options);
  await settle();
  fake.last.accept();
  await settle();
  return c;
}

useFakeClients(
  () => {
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('RealtimeClient state machine', () => {
  it('goes idle → connecting → open and announces open once the handshake completes', async () => {
    const c = make({ auth: 'tok' });
    const states: string[] = [];
    c.on('state', (s) => states.push(`${s.from}>${s.to}`));
    const opened = vi.fn();
    c.on('open', opened);
    expect(c.state).toBe('idle');
    await settle();
    expect(c.state).toBe('connecting');
    fake.last.open();
    expect(fake.last.frames).toEqual([{ type: 'hello', v: 1, ack: 0, auth: 'tok', b: 1 << 20 }]);
    expect(opened).not.toHaveBeenCalled();
    fake.last.welcome();
    await settle();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('websocket');
    expect(opened).toHaveBeenCalledWith({ transport: 'websocket', resumed: false });
    expect(states).toEqual(['idle>connecting', 'connecting>open']);
    expect(fake.last.url).toBe('ws://test.invalid/realtime');
  });

  it('calls an auth function on every connect, so a refreshed token is used', async () => {
    let n = 0;
    const c = make({ auth: async () => `t${++n}` });
    await settle();
    fake.last.accept();
    await settle();
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.open();
    expect(fake.last.framesOf('hello')[0]?.auth).toBe('t2');
    expect(c.state).toBe('connecting');
  });

  it('delivers typed server events and ignores duplicates by sequence number', async () => {
    const c = await connected();
    const got: string[] = [];
    c.on('chat', (m) => got.push(m.text));
    fake.last.push({ type: 'event', seq: 1, event: 'chat', data: { from: 'a', text: 'one' } });
    fake.last.push({ type: 'event', seq: 1, event: 'chat', data: { from: 'a', text: 'one again' } });
    fake.last.push({ type: 'event', seq: 2, event: 'chat', data: { from: 'a', text: 'two' } });
    expect(got).toEqual(['one', 'two']);
    await vi.advanceTimersByTimeAsync(50);
    expect(fake.last.framesOf('ack')).toEqual([{ type: 'ack', ack: 2 }]);
  });

  it('treats a reserved event name, a bad frame or a sequence gap from the server as a protocol error', async () => {
    for (const bad of ['{"not":"a frame"}', '["e",1,"open",{}]', '["e",5,"chat",{}]']) {
      const c = await connected();
      const errors: unknown[] = [];
      c.on('error', (e) => errors.push(e));
      const link = fake.last;
      link.push(bad);
      expect(errors[0]).toBeInstanceOf(ProtocolError);
      expect(link.closedWith?.code).toBe(4400);
      expect(link.framesOf('close')[0]?.code).toBe(4400);
      expect(c.state).toBe('reconnecting');
      c.close();
    }
  });

  it('close() during the handshake says goodbye once the hello went out: the server ends the session it made', async () => {
    const c = make();
    await settle();
    const unopened = fake.last;
    c.close();
    expect(unopened.framesOf('close')).toEqual([]); // nothing sent, nothing made
    const d = make();
    await settle();
    const link = fake.last;
    link.open(); // the hello went out; the welcome has not come back
    d.close();
    expect(link.framesOf('close')).toEqual([{ type: 'close', code: 1000, reason: 'client closed' }]);
    expect(link.closedWith?.code).toBe(1000);
  });

  it('after refusing a server frame, starts a new session: a resume would replay the frame', async () => {
    const c = await connected();
    const lost: unknown[] = [];
    c.on('error', (e) => void (e instanceof SessionLostError && lost.push(e.undelivered.map((m) => m.data))));
    c.send('chat', { text: 'unacked' });
    fake.last.push('["e",5,"chat",{}]'); // a gap: refused with 4400
    expect(fake.last.closedWith?.code).toBe(4400);
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.open();
    expect(fake.last.framesOf('hello')[0]?.resume).toBeUndefined();
    // A server that kept the session anyway cannot make the client resume it.
    fake.last.welcome({ resumed: true, ack: 0 });
    await settle();
    expect(lost).toEqual([[{ text: 'unacked' }]]);
    expect(fake.last.framesOf('event')).toEqual([]);
  });

  it('queues while disconnected and flushes in order before open is announced', async () => {
    const c = make();
    expect(c.send('chat', { text: 'a' })).toBe('queued');
    expect(c.send('chat', { text: 'b' })).toBe('queued');
    expect(c.queued).toBe(2);
    let seenAtOpen: string[] = [];
    c.on('open', () => (seenAtOpen = fake.last.framesOf('event').map((f) => (f.data as { text: string }).text)));
    await settle();
    fake.last.accept();
    await settle();
    expect(seenAtOpen).toEqual(['a', 'b']);
    expect(c.send('chat', { text: 'c' })).toBe('sent');
    expect(fake.last.framesOf('event').map((f) => f.seq)).toEqual([1, 2, 3]);
  });

  it('applies the overflow policy of a full queue', async () => {
    const c = make({ queue: { maxMessages: 2, overflow: 'drop-oldest' } });
    const overflow = vi.fn();
    c.on('queue:overflow', overflow);
    c.send('chat', { text: '1' });
    c.send('chat', { text: '2' });
    expect(c.send('chat', { text: '3' })).toBe('queued');
    expect(overflow).toHaveBeenCalledWith({
      dropped: [expect.objectContaining({ event: 'chat', data: { text: '1' } })],
    });
    const strict = make({ queue: { maxMessages: 1, overflow: 'drop-newest' } });
    strict.send('chat', { text: '1' });
    expect(strict.send('chat', { text: '2' })).toBe('dropped');
  });

  it("counts queue.maxBytes in characters of the messages' JSON, not UTF-8 bytes (README)", () => {
    // { text: 60 'é' } is 71 characters of JSON but 131 bytes of UTF-8; with the name and the
    // frame's share (16) 91 characters: under 100. 70 'e' are 101: over it.
    const c = make({ queue: { maxBytes: 100, overflow: 'drop-newest' } });
    expect(c.send('chat', { text: 'é'.repeat(60) })).toBe('queued');
    const ascii = make({ queue: { maxBytes: 100, overflow: 'drop-newest' } });
    expect(ascii.send('chat', { text: 'e'.repeat(70) })).toBe('dropped');
    expect(c.queued + ascii.queued).toBe(1);
  });
});

describe('reconnection', () => {
  it('backs off exponentially after drops and reports each attempt', async () => {
    const c = await connected();
    const attempts: { attempt: number; delayMs: number }[] = [];
    c.on('reconnecting', (r) => attempts.push(r));
    const closes = vi.fn();
    c.on('close', closes);
    fake.last.drop({ code: 1006, reason: 'gone' });
    expect(closes).toHaveBeenCalledWith({ code: 1006, reason: 'gone', willReconnect: true });
    for (const delay of [1000, 2000, 4000]) {
      expect(c.state).toBe('reconnecting');
      const before = fake.links.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(fake.links.length).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(fake.links.length).toBe(before + 1);
      fake.last.drop();
      await settle();
    }
    expect(attempts.map((a) => a.delayMs)).toEqual([1000, 2000, 4000, 8000]);
  });

  it('ignores late callbacks from an older attempt (generation check)', async () => {
    const c = make({ connectTimeoutMs: 500 });
    await settle();
    const first = fake.last;
    await vi.advanceTimersByTimeAsync(500); // times out
    expect(first.closedWith?.code).toBe(4001);
    await vi.advanceTimersByTimeAsync(1000);
    const second = fake.last;
    expect(second).not.toBe(first);
    first.accept(); // the old socket answers after all
    await settle();
    expect(c.state).toBe('connecting');
    second.accept();
    await settle();
    expect(c.state).toBe('open');
  });

  it('fails an attempt whose transport opens but never completes the handshake', async () => {
    const c = make({ connectTimeoutMs: 3000 });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    fake.last.open();
    await vi.advanceTimersByTimeAsync(3000);
    expect(errors[0]).toBeInstanceOf(ConnectTimeoutError);
    expect(c.state).toBe('reconnecting');
  });

  it('stops on an auth rejection instead of retrying', async () => {
    const c = make({ auth: 'bad' });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    fake.last.open();
    fake.last.push({ type: 'close', code: 4401, reason: 'bad token' });
    await settle();
    expect(errors[0]).toBeInstanceOf(AuthError);
    expect(c.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.links).toHaveLength(1);
  });

  it("ends for good on the server's close frame with 1000, and only then", async () => {
    const c = await connected();
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    fake.last.push({ type: 'close', code: 1000, reason: 'bye' });
    expect(closes).toEqual([{ code: 1000, reason: 'bye', willReconnect: false }]);
    expect(c.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.links).toHaveLength(1);
  });

  it('retries a WebSocket closed with 1000 but no close frame (a proxy or a restart), and resumes', async () => {
    const c = await connected();
    const closes: unknown[] = [];
    c.on('close', (e) => closes.push(e));
    fake.last.drop({ code: 1000, reason: 'idle timeout' }); // a load balancer ending an idle connection
    expect(closes).toEqual([{ code: 1000, reason: 'idle timeout', willReconnect: true }]);
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.links).toHaveLength(2);
    fake.last.open();
    expect(fake.last.framesOf('hello')[0]?.resume).toBe('r1');
    fake.last.welcome({ resumed: true });
    await settle();
    expect(c.state).toBe('open');
  });

  it('goes on to the next transport when one closes with 1000 before the welcome', async () => {
    const polling = new FakeTransport('longpoll');
    const c = make({ transports: [fake, polling] });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    fake.last.open();
    fake.last.drop({ code: 1000, reason: '' }); // accepted the upgrade, then ended it without a word
    await settle();
    expect(polling.links).toHaveLength(1);
    polling.last.accept();
    await settle();
    expect(c.state).toBe('open');
    expect(c.transport).toBe('longpoll');
    expect(errors).toEqual([]);
  });

  it('time-boxes an auth function that never settles with connectTimeoutMs, then retries', async () => {
    let calls = 0;
    const c = make({ auth: () => (++calls === 1 ? new Promise<string>(() => {}) : 'tok'), connectTimeoutMs: 2000 });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await vi.advanceTimersByTimeAsync(2000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectTimeoutError);
    expect((errors[0] as Error).message).toMatch(/auth token/);
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.accept();
    await settle();
    expect(c.state).toBe('open');
    expect(fake.links).toHaveLength(1);
  });

  it('leaves no timer behind when closed while an auth function is pending', async () => {
    const c = make({ auth: () => new Promise<string>(() => {}) });
    await settle();
    c.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([42, { token: 'x' }, null])('refuses an auth function that returns %j with an AuthError', async (token) => {
    const c = make({ auth: () => token as unknown as string });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await settle();
    expect(fake.links).toHaveLength(0); // not sent to a server that would call it a protocol error
    expect(errors[0]).toBeInstanceOf(AuthError);
    expect(((errors[0] as Error).cause as Error).message).toMatch(/must return a string/);
  });

  it('stops after maxAttempts', async () => {
    const c = make({ reconnect: { maxAttempts: 2, initialDelayMs: 10, jitter: 'none' } });
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(100);
      fake.last.drop();
    }
    await settle();
    expect(c.state).toBe('closed');
    expect(fake.links).toHaveLength(3);
  });

  it('tells the retry policy the reasons its TSDoc names: a close reason, code N without one, an attempt error', async () => {
    const reasons: string[] = [];
    const c = await connected({
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
      connectTimeoutMs: 2000,
      reconnect: { policy: ({ reason }) => (reasons.push(reason), 10) },
    });
    fake.last.drop({ code: 1006, reason: '' }); // as a browser's WebSocket reports a lost connection
    await vi.advanceTimersByTimeAsync(10);
    fake.last.accept();
    await settle();
    await vi.advanceTimersByTimeAsync(1500); // no answer to the ping
    await vi.advanceTimersByTimeAsync(10 + 2000); // the next attempt never completes its handshake
    expect(c.state).toBe('reconnecting');
    expect(reasons).toEqual(['code 1006', 'heartbeat timeout', 'websocket: no handshake within 2000 ms']);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('policy bug');
      },
      /reconnect\.policy threw: Error: policy bug/,
    ],
    ['returns a bad delay', () => -5, /retry policy result .* got -5/],
  ])(
    'closes with an error when the retry policy %s, instead of waiting in reconnecting',
    async (_label, policy, message) => {
      const c = await connected({ reconnect: { policy } });
      const errors: unknown[] = [];
      c.on('error', (e) => errors.push(e));
      const states: string[] = [];
      c.on('state', (s) => states.push(`${s.to}: ${s.reason}`));
      expect(() => fake.last.drop()).not.toThrow(); // not into the socket's close handler
      expect(c.state).toBe('closed');
      expect(states).toEqual(['closed: reconnect policy failed']); // not through reconnecting: no retry comes
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(InvalidArgumentError);
      expect((errors[0] as Error).message).toMatch(message);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fake.links).toHaveLength(1);
    },
  );

  it('resumes the session: hello carries the token and ack, unacked frames are re-sent', async () => {
    const c = await connected();
    fake.last.push({ type: 'event', seq: 1, event: 'chat', data: { from: 'x', text: 'hi' } });
    c.send('chat', { text: 'm1' });
    c.send('chat', { text: 'm2' });
    fake.last.push({ type: 'ack', ack: 1 });
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.open();
    expect(fake.last.frames[0]).toEqual({ type: 'hello', v: 1, ack: 1, resume: 'r1', b: 1 << 20 });
    fake.last.welcome({ resumed: true, ack: 1, resume: 'r2' });
    await settle();
    expect(fake.last.framesOf('event').map((f) => f.seq)).toEqual([2]);
    const opened = vi.fn();
    c.on('open', opened);
  });
});

describe('requests and ping', () => {
  it('resolves a request with its response and rejects on error, timeout and abort', async () => {
    const c = await connected();
    const ok = c.request('join', { room: 'a' });
    const q = fake.last.framesOf('request')[0];
    expect(q).toMatchObject({ event: 'join', data: { room: 'a' } });
    fake.last.push({ type: 'response', seq: 1, id: q?.id ?? 0, ok: true, data: 'welcome' });
    await expect(ok).resolves.toBe('welcome');
    const bad = c.request('join');
    const q2 = fake.last.framesOf('request')[1];
    fake.last.push({ type: 'response', seq: 2, id: q2?.id ?? 0, ok: false, error: { code: 'NOPE', message: 'no' } });
    await expect(bad).rejects.toBeInstanceOf(RemoteError);
    const slow = c.request('slow', undefined, { timeoutMs: 100 });
    const check = expect(slow).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(100);
    await check;
    const ac = new AbortController();
    const aborted = c.request('slow', undefined, { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
  });

  it('treats timeoutMs: Infinity as no timeout, not as an immediate one', async () => {
    const c = await connected({ heartbeat: false });
    const settled = vi.fn();
    void c.request('slow', 1, { timeoutMs: Infinity }).then(settled, settled);
    void c.ping({ timeoutMs: Infinity }).then(settled, settled);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).not.toHaveBeenCalled();
    const [first] = fake.last.framesOf('request');
    fake.last.push({ type: 'response', seq: 1, id: first?.id ?? 0, ok: true, data: 'done' });
    await settle();
    expect(settled).toHaveBeenCalledWith('done');
  });

  it.each([-1, Number.NaN, 2 ** 31])(
    'refuses timeoutMs %s with an InvalidArgumentError, as waitFor does',
    async (timeoutMs) => {
      const c = await connected({ heartbeat: false });
      await expect(c.request('slow', 1, { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(c.ping({ timeoutMs })).rejects.toThrow(/ping: timeoutMs must be a number in \[0, 2147483647\]/);
      expect(fake.last.framesOf('request')).toEqual([]); // refused before anything was sent
      expect(fake.last.framesOf('ping')).toEqual([]);
    },
  );

  it('refuses an event name over 256 chars at send() and request(): the server would end the session for it', async () => {
    const c = await connected({ heartbeat: false });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    const long = 'n'.repeat(257);
    expect(() => c.send(long as 'chat', { text: 'x' })).toThrow(/event names are 1-256 characters, got 257/);
    await expect(c.request(long, 1)).rejects.toThrow(/event names are 1-256 characters, got 257/);
    expect(fake.last.frames.filter((f) => f.type === 'event' || f.type === 'request')).toEqual([]);
    expect(c.send('n'.repeat(256) as 'chat', { text: 'x' })).toBe('sent');
    expect(errors).toEqual([]);
  });

  it("refuses a reserved or empty name at send(): the server would end the session for it (README's API table)", async () => {
    const c = await connected({ heartbeat: false });
    for (const name of ['open', 'queue:expired', 'end', 'disconnect', ''])
      expect(() => c.send(name as 'chat', { text: 'x' }), name).toThrow(InvalidArgumentError);
    await expect(c.request('')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(fake.last.frames.filter((f) => f.type === 'event' || f.type === 'request')).toEqual([]);
  });

  it('quotes a long name shortly in an error message', () => {
    const c = make({ autoConnect: false });
    const error = (() => {
      try {
        c.send('n'.repeat(200) as 'chat', { text: 'x'.repeat(1 << 20) } as never);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error?.message.length).toBeLessThan(120);
  });

  it('measures RTT with ping()', async () => {
    const c = await connected();
    const rtt = c.ping();
    const p = fake.last.framesOf('ping')[0];
    await vi.advanceTimersByTimeAsync(42);
    fake.last.push({ type: 'pong', ts: p?.ts ?? 0 });
    await expect(rtt).resolves.toBe(42);
    expect(c.rtt).toBe(42);
  });

  it("measures RTT with the heartbeat's pings too, with no ping() ever called", async () => {
    const c = await connected({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    expect(c.rtt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1000);
    const p = fake.last.framesOf('ping')[0];
    expect(p).toBeDefined();
    await vi.advanceTimersByTimeAsync(17);
    fake.last.push({ type: 'pong', ts: p?.ts ?? 0 });
    expect(c.rtt).toBe(17);
  });

  it('a ping() pending at close() rejects with ClosedError, as a request does; one pending at a drop, NotConnectedError', async () => {
    const dropping = await connected();
    const dropped = dropping.ping();
    fake.last.drop();
    await expect(dropped).rejects.toBeInstanceOf(NotConnectedError);
    const c = await connected();
    const pending = c.ping();
    const request = c.request('never');
    c.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(request).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('heartbeat', () => {
  it('pings after an idle interval and drops the link when no answer comes', async () => {
    const c = await connected({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    const closes = vi.fn();
    c.on('close', closes);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.last.framesOf('ping')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(c.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(closes).toHaveBeenCalledWith(expect.objectContaining({ code: 4000, willReconnect: true }));
    expect(c.state).toBe('reconnecting');
  });

  it('finds a dead link at once from the wall clock before a send (throttled timers, sleep)', async () => {
    const c = await connected({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    const link = fake.last;
    vi.setSystemTime(Date.now() + 60_000); // the clock jumps; no timer has fired
    expect(c.send('chat', { text: 'after sleep' })).toBe('queued');
    expect(link.closedWith?.code).toBe(4000);
    expect(c.state).toBe('reconnecting');
  });
});

describe('browser lifecycle', () => {
  it.each(['visibilitychange', 'online'])(
    'finds a dead link at once from the wall clock on %s (throttled timers, sleep), and reconnects at once',
    async (event) => {
      const visible = Object.assign(new EventTarget(), { visibilityState: 'visible' });
      const c = await connected({
        lifecycle: { window, document: visible, navigator },
        heartbeat: { intervalMs: 1000, timeoutMs: 500 },
      });
      const link = fake.last;
      vi.setSystemTime(Date.now() + 60_000); // asleep for a minute; no timer has fired
      (event === 'online' ? window : visible).dispatchEvent(new Event(event));
      expect(link.closedWith?.code).toBe(4000);
      // Not after the backoff the drop just planned (1 s here): a backoff pending when the event came is
      // skipped too, so which of the late heartbeat timer and the event ran first made the difference.
      expect(c.state).toBe('connecting');
      await settle();
      expect(fake.links).toHaveLength(2);
    },
  );

  it('pauses on offline without burning attempts and reconnects at once when online', async () => {
    const c = await connected({ lifecycle: { window, document, navigator } });
    const reconnecting = vi.fn();
    c.on('reconnecting', reconnecting);
    window.dispatchEvent(new Event('offline'));
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reconnecting).not.toHaveBeenCalled();
    expect(fake.links).toHaveLength(1);
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(c.state).toBe('connecting');
    expect(fake.links).toHaveLength(2);
  });

  it("leaves time offline out of the policy's elapsedMs: a policy that gives up after a minute of failures does not give up on the first failure after an hour offline", async () => {
    const nav = { onLine: true };
    const seen: number[] = [];
    const c = await connected({
      lifecycle: { window, document, navigator: nav },
      heartbeat: false,
      reconnect: { policy: ({ elapsedMs }) => (seen.push(elapsedMs), elapsedMs > 60_000 ? null : 1000) },
    });
    fake.last.drop(); // the server went: a streak of failures starts
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.drop(); // the retry fails too
    await settle();
    nav.onLine = false;
    window.dispatchEvent(new Event('offline'));
    await vi.advanceTimersByTimeAsync(3_600_000);
    nav.onLine = true;
    window.dispatchEvent(new Event('online'));
    await settle();
    fake.last.drop(); // the first attempt on a network just back fails, as it often does
    await settle();
    expect(seen).toEqual([0, 1000, 1000]);
    expect(c.state).toBe('reconnecting');
  });

  it('offline abandons an attempt under way (no stale attempt on the dead network), online starts one at once and a late online or a visible tab keeps it', async () => {
    const nav = { onLine: true };
    const visible = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const c = make({ lifecycle: { window, document: visible, navigator: nav }, connectTimeoutMs: 30_000 });
    await settle();
    const stale = fake.last;
    stale.open(); // the hello went out; the network goes before the welcome comes
    nav.onLine = false;
    window.dispatchEvent(new Event('offline'));
    expect(stale.closedWith).toBeDefined();
    expect(c.state).toBe('reconnecting');
    nav.onLine = true;
    visible.dispatchEvent(new Event('visibilitychange')); // back, and the network with it (its `online` comes later)
    await settle();
    expect(c.state).toBe('connecting');
    const fresh = fake.last;
    window.dispatchEvent(new Event('online'));
    visible.dispatchEvent(new Event('visibilitychange'));
    await settle();
    expect(fake.last).toBe(fresh); // the attempt started on the network that is back is not thrown away
    expect(fresh.closedWith).toBeUndefined();
    fresh.accept();
    await settle();
    expect(c.state).toBe('open');
  });

  it('lets go of the socket on pagehide into the bfcache and resumes on pageshow', async () => {
    const c = await connected({ lifecycle: { window, document, navigator } });
    const link = fake.last;
    window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
    expect(link.closedWith?.code).toBe(1001);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.links).toHaveLength(1);
    window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    await settle();
    expect(fake.links).toHaveLength(2);
    expect(c.state).toBe('connecting');
  });

  it.each(['bfcache', 'freeze'])(
    'back from the %s into a network that went meanwhile: waits for online, with no attempt',
    async (via) => {
      const nav = { onLine: true };
      const c = await connected({ lifecycle: { window, document, navigator: nav } });
      const reconnecting = vi.fn();
      c.on('reconnecting', reconnecting);
      const cached = via === 'bfcache';
      const [away, back] = cached ? ['pagehide', 'pageshow'] : ['freeze', 'resume'];
      (cached ? window : document).dispatchEvent(Object.assign(new Event(away), { persisted: cached }));
      nav.onLine = false; // the network went while the page was frozen or cached: no `offline` reached it
      (cached ? window : document).dispatchEvent(Object.assign(new Event(back), { persisted: cached }));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fake.links).toHaveLength(1);
      expect(reconnecting).not.toHaveBeenCalled();
      expect(c.state).toBe('reconnecting');
      nav.onLine = true;
      window.dispatchEvent(new Event('online'));
      await settle();
      expect(fake.links).toHaveLength(2);
      expect(c.state).toBe('connecting');
    },
  );

  it.each([
    ['bfcache', 'pageshow'],
    ['freeze', 'resume'],
    ['bfcache', 'visibilitychange'],
  ])(
    'paused offline, then away in the %s, and back on `%s` with the network back but no `online`: reconnects at once',
    async (via, comeback) => {
      const nav = { onLine: true };
      const c = await connected({ lifecycle: { window, document, navigator: nav } });
      nav.onLine = false;
      window.dispatchEvent(new Event('offline'));
      expect(c.state).toBe('reconnecting');
      const cached = via === 'bfcache';
      const [away, back] = cached ? ['pagehide', 'pageshow'] : ['freeze', 'resume'];
      (cached ? window : document).dispatchEvent(Object.assign(new Event(away), { persisted: cached }));
      nav.onLine = true; // the network came back while the page was away; its `online` never comes
      if (comeback === 'visibilitychange') document.dispatchEvent(new Event('visibilitychange'));
      else (cached ? window : document).dispatchEvent(Object.assign(new Event(back), { persisted: cached }));
      await settle();
      expect(fake.links).toHaveLength(2);
      expect(c.state).toBe('connecting');
    },
  );
});

describe('close()', () => {
  it('open clients share one heartbeat timer; closing them all leaves none', async () => {
    const all = [await connected(), await connected(), await connected()];
    expect(all.every((c) => c.state === 'open')).toBe(true);
    expect(vi.getTimerCount()).toBe(1);
    for (const c of all) c.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer, listener or socket behind and reports undelivered messages', async () => {
    const added = new Map<string, number>();
    const target = {
      addEventListener: (t: string) => added.set(t, (added.get(t) ?? 0) + 1),
      removeEventListener: (t: string) => added.set(t, (added.get(t) ?? 0) - 1),
    };
    const c = await connected({
      lifecycle: { window: target, document: target },
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
    });
    const pending = c.request('never');
    const stream = c.stream('chat');
    const next = stream.next();
    fake.last.drop();
    c.send('chat', { text: 'queued' });
    const undelivered = c.close();
    expect(undelivered.map((m) => m.event)).toEqual(['never', 'chat']); // log order: sent-unacked first
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(next).resolves.toEqual({ done: true, value: undefined });
    expect(c.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    expect([...added.values()].every((n) => n === 0)).toBe(true);
    expect(added.size).toBeGreaterThan(0);
    expect(() => c.connect()).toThrow(ClosedError);
  });

  it('closes for good even when a custom transport throws from its close()', async () => {
    const c = await connected();
    fake.last.close = () => {
      throw new Error('close broke');
    };
    expect(() => c.close()).not.toThrow();
    expect(c.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends a close frame when closing an open connection', async () => {
    const c = await connected();
    const link = fake.last;
    c.close();
    expect(link.framesOf('close')).toEqual([{ type: 'close', code: 1000, reason: 'client closed' }]);
    expect(link.closedWith?.code).toBe(1000);
  });
});

describe('handlers that call close() or connect() re-entrantly', () => {
  /** After `close()`: closed for good, no reconnect, no socket, no timer. */
  async function staysClosed(c: RealtimeClient<ServerEvents, ClientEvents>, links: number): Promise<void> {
    expect(c.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.state).toBe('closed');
    expect(fake.links).toHaveLength(links);
  }

  it.each(['close', 'state', 'reconnecting'] as const)(
    "a '%s' handler that closes the client on a drop is obeyed, not overridden",
    async (event) => {
      const c = await connected();
      c.on(event, () => c.close());
      expect(() => fake.last.drop()).not.toThrow(); // not into the socket's close handler
      await staysClosed(c, 1);
    },
  );

  it("an 'error' handler that closes the client when an attempt fails is obeyed", async () => {
    const c = make();
    c.on('error', () => c.close());
    await settle();
    fake.last.drop();
    await settle(); // the failure is handled in a promise: an escaping error is an unhandled rejection
    await staysClosed(c, 1);
  });

  it("a 'state' handler that closes the client as it starts connecting opens no socket", async () => {
    const c = make();
    c.on('state', (s) => s.to === 'connecting' && c.close());
    await settle();
    await staysClosed(c, 0);
  });

  it("an 'error' handler that closes the client on a lost session leaves no heartbeat behind", async () => {
    const c = await connected();
    c.send('chat', { text: 'unacked' });
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(1000);
    const lost = vi.fn(() => c.close());
    c.on('error', lost);
    fake.last.accept({ resumed: false }); // SessionLostError, emitted while the link is adopted
    await settle();
    expect(lost).toHaveBeenCalledOnce();
    await staysClosed(c, 2);
  });

  it('an auth function that closes the client opens no socket', async () => {
    const c: RealtimeClient<ServerEvents, ClientEvents> = make({ auth: () => (c.close(), 'tok') });
    await settle();
    await staysClosed(c, 0);
  });

  it('a handler that throws, with a logger that throws too (fail-on-console), breaks nothing', async () => {
    const error = vi.fn((message: string) => {
      throw new Error(`console.error called: ${message}`);
    });
    const c = await connected({ logger: { debug() {}, info() {}, warn() {}, error } });
    c.on('close', () => {
      throw new Error('app bug');
    });
    expect(() => fake.last.drop()).not.toThrow(); // not into the socket's close handler
    expect(error).toHaveBeenCalledWith("surelink: 'close' handler threw", expect.any(Error));
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.links).toHaveLength(2);
  });

  it("a 'state' handler that connects again as the client closes gets a working connection", async () => {
    const c = await connected();
    c.on('state', (s) => s.to === 'closed' && c.connect());
    fake.last.drop({ code: 4401, reason: 'token expired' });
    expect(c.state).toBe('connecting');
    await settle();
    fake.last.accept();
    await settle();
    expect(c.state).toBe('open');
    expect(c.send('chat', { text: 'hi' })).toBe('sent');
  });
});
