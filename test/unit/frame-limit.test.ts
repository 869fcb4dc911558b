/**
 * The server's frame limit, once its welcome says it (`b` on WebSocket and SockJS, `f` on long
 * polling): `send()` and `request()` refuse larger data at the call, and messages queued before the
 * limit was known (or for a server that takes less, or restored after a reload) are taken out of
 * the queue and reported (`queue:oversize`) instead of ending the session with 4413. Before any
 * welcome, or from a server that says nothing, the protocol's 1 MiB applies.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { QueuedMessage } from '../../src/client/event-types.js';
import type { ClientOptions } from '../../src/client/options.js';
import { OutboundLog, type OutboundLimits } from '../../src/client/outbound.js';
import { InvalidArgumentError, ProtocolError } from '../../src/errors/index.js';
import { decodeFrame, encodeFrame, MAX_FRAME_CHARS } from '../../src/protocol/codec.js';
import { webStorageStore } from '../../src/storage/web-storage.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';
import type { TransportName } from '../../src/transports/transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
const roomy: OutboundLimits = { maxMessages: 1000, maxBytes: 1 << 22, overflow: 'drop-oldest' };
/** 1,500 code units, 3,000 bytes of UTF-8: under the client's default, over a 2,000-byte server. */
const BIG = 'é'.repeat(1500);
/** 3,000 code units but 3,000 bytes too: caught by the cheap count of code units alone. */
const BIG_ASCII = 'a'.repeat(3000);
/** What a 2,000-byte server still takes: 1,800 bytes of data. */
const FITS = 'é'.repeat(900);

let fake: FakeTransport;
let clients: RealtimeClient[];

function make(options: ClientOptions = {}, transport: TransportName = 'websocket'): RealtimeClient {
  if (fake.name !== transport) fake = new FakeTransport(transport);
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    heartbeat: false,
    reconnect: { initialDelayMs: 1000, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  return c;
}

/** Every report a client makes about messages it let go, and every close. */
function watch(c: RealtimeClient) {
  const oversize: { data: unknown[]; maxFrameBytes: number }[] = [];
  const incidents: string[] = [];
  c.on('queue:oversize', (e) => oversize.push({ data: e.oversize.map((m) => m.data), maxFrameBytes: e.maxFrameBytes }));
  c.on('queue:overflow', () => incidents.push('overflow'));
  c.on('error', (e) => incidents.push(`error ${e.name}`));
  c.on('close', (e) => incidents.push(`close ${e.code}`));
  return { oversize, incidents };
}

const sent = () => fake.last.framesOf('event').map((f) => [f.seq, f.data]);

useFakeClients(
  () => {
    localStorage.clear();
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('OutboundLog.limit', () => {
  const entry = (data: unknown): QueuedMessage & { event: string } => ({ event: 'x', data, queuedAt: 0 });

  it('takes out the queued entries over the limit, in bytes, and renumbers the rest without a gap, in order', () => {
    const log = new OutboundLog(roomy);
    for (const data of [1, BIG, 2, BIG_ASCII, FITS, 3]) log.append(entry(data));
    const out = log.limit(2000);
    expect(out.map((e) => e.data)).toEqual([BIG, BIG_ASCII]);
    expect(log.takeQueued().map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 2],
      [3, FITS],
      [4, 3],
    ]);
  });

  it('refuses larger data at append from then on, naming the limit; a higher limit lets it through again', () => {
    const log = new OutboundLog(roomy);
    log.limit(2000);
    expect(() => log.append(entry(BIG))).toThrow(InvalidArgumentError);
    expect(() => log.appendTransmitted(entry(BIG_ASCII))).toThrow(/over 2000 bytes/);
    expect(log.append(entry(FITS))).toEqual([]);
    expect(log.all()).toHaveLength(1);
    expect(log.limit(MAX_FRAME_CHARS)).toEqual([]);
    expect(log.append(entry(BIG))).toEqual([]);
    expect(log.all().map((e) => e.seq)).toEqual([1, 2]);
    // Whatever a server says, a frame stays within the 1 MiB of code units a client sends.
    log.limit(8 * MAX_FRAME_CHARS);
    expect(() => log.append(entry('a'.repeat(MAX_FRAME_CHARS)))).toThrow(InvalidArgumentError);
  });

  it('after a resume, takes out what is to be re-sent too: the server delivered none of it', () => {
    const log = new OutboundLog(roomy);
    for (const data of [1, BIG, 2]) log.append(entry(data));
    log.takeQueued(); // transmitted on a server that took 1 MiB, never acknowledged
    log.sent(3);
    expect(log.resume(0)).toBe(true);
    expect(log.limit(2000).map((e) => e.data)).toEqual([BIG]);
    expect(log.takeQueued().map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    log.sent(2);
    // Number 3 went out before, as 2; the message now numbered 3 never did: a lost session does
    // not report it as unconfirmed, it goes in the new one.
    log.append(entry(3));
    expect(log.ack(3)).toBe(false);
    expect(log.newSession().map((e) => e.data)).toEqual([1, 2]);
    expect(log.takeQueued().map((e) => [e.seq, e.data])).toEqual([[1, 3]]);
  });
});

describe('OutboundLog renumbering', () => {
  it('re-sends taken out by their TTL after a resume count as never transmitted, as ones over a limit do', () => {
    const log = new OutboundLog(roomy);
    const entry = (data: unknown, expiresAt?: number) =>
      expiresAt === undefined ? { event: 'x', data, queuedAt: 0 } : { event: 'x', data, queuedAt: 0, expiresAt };
    for (const [data, at] of [[1], [2, 5], [3]] as const) log.append(entry(data, at));
    log.takeQueued(); // transmitted on the last link, never acknowledged
    expect(log.resume(0)).toBe(true);
    expect(log.expire(10).map((e) => e.data)).toEqual([2]);
    log.append(entry(4));
    // Number 3 went out before, as 3; the message now numbered 3 (4) never did.
    expect(log.ack(3)).toBe(false);
    expect(log.newSession()).toEqual([]);
    expect(log.takeQueued().map((e) => [e.seq, e.data])).toEqual([
      [1, 1],
      [2, 3],
      [3, 4],
    ]);
  });
});

describe('welcome.f', () => {
  const welcome = (extra: object) =>
    `["w",{"v":1,"sid":"s","resume":"r","resumed":false,"ack":0,"hb":[1,1]${JSON.stringify(extra).slice(1, -1) ? `,${JSON.stringify(extra).slice(1, -1)}` : ''}}]`;

  it('is decoded when a positive integer, refused (4400) otherwise, and encoded by the server', () => {
    expect(decodeFrame(welcome({ f: 65534 }))).toMatchObject({ type: 'welcome', f: 65534 });
    expect(decodeFrame(welcome({}))).toMatchObject({ type: 'welcome', f: undefined });
    for (const f of [0, -1, 1.5, '1', null]) expect(decodeFrame(welcome({ f }))).toBeInstanceOf(ProtocolError);
    const text = encodeFrame({
      type: 'welcome',
      v: 1,
      sid: 's',
      resume: 'r',
      resumed: false,
      ack: 0,
      hb: { intervalMs: 1, timeoutMs: 1 },
      f: 100,
    });
    expect(JSON.parse(text)).toEqual(['w', expect.objectContaining({ f: 100 })]);
    expect(JSON.parse(text)[1]).not.toHaveProperty('b');
  });
});

describe.each([
  ['websocket', { b: 2000 }],
  ['longpoll', { f: 2000 }],
] as const)('a server that takes 2,000 bytes (%s, welcome %o)', (transport, announced) => {
  it('send() and request() refuse larger data at the call once it is known, naming the limit; smaller data goes as before', async () => {
    const c = make({}, transport);
    const { oversize, incidents } = watch(c);
    await settle();
    fake.last.accept(announced);
    await settle();
    for (const big of [BIG, BIG_ASCII]) {
      expect(() => c.send('x', big)).toThrow(InvalidArgumentError);
      expect(() => c.send('x', big)).toThrow(/'x' is over 2000 bytes/);
      await expect(c.request('x', big)).rejects.toThrow(/over 2000 bytes/);
    }
    expect(c.send('x', FITS)).toBe('sent');
    fake.last.drop();
    expect(() => c.send('x', BIG)).toThrow(InvalidArgumentError); // offline: the last server's limit
    expect(c.send('x', 'queued')).toBe('queued');
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.accept({ ...announced, resumed: true, ack: 1 });
    await settle();
    expect(sent()).toEqual([[2, 'queued']]);
    expect(oversize).toEqual([]);
    expect(incidents).toEqual(['close 1006']);
  });

  it('messages queued before its welcome over it are taken out and reported, their requests fail, and the rest go in order in the same session', async () => {
    const c = make({}, transport);
    const { oversize, incidents } = watch(c);
    const opens: boolean[] = [];
    c.on('open', (e) => opens.push(e.resumed));
    expect(c.send('x', 1)).toBe('queued'); // not connected yet: 1 MiB applies
    expect(c.send('x', BIG)).toBe('queued');
    const refused = c.request('r', BIG_ASCII).catch((e: unknown) => e);
    expect(c.send('x', 2)).toBe('queued');
    const answered = c.request('r', FITS);
    expect(c.send('x', 3)).toBe('queued');
    await settle();
    fake.last.accept(announced);
    await settle();
    expect(oversize).toEqual([{ data: [BIG, BIG_ASCII], maxFrameBytes: 2000 }]);
    const error = await refused;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ message: "'r' is over 2000 bytes" });
    expect(fake.last.frames.filter((f) => f.type === 'event' || f.type === 'request').map((f) => f.seq)).toEqual([
      1, 2, 3, 4,
    ]);
    expect(sent()).toEqual([
      [1, 1],
      [2, 2],
      [4, 3],
    ]);
    expect(fake.last.framesOf('request').map((f) => [f.seq, f.data])).toEqual([[3, FITS]]);
    fake.last.push({ type: 'response', seq: 1, id: fake.last.framesOf('request')[0]!.id, ok: true, data: 'ok' });
    await expect(answered).resolves.toBe('ok');
    expect([c.state, c.queued, opens]).toEqual(['open', 0, [false]]);
    expect(incidents).toEqual([]);
  });

  it('a server with less room than the last one: what was in flight and is over it is taken out at the resume, the rest re-sent', async () => {
    const c = make({}, transport);
    const { oversize, incidents } = watch(c);
    await settle();
    fake.last.accept(); // says nothing: 1 MiB
    await settle();
    for (const data of [1, BIG, 2]) expect(c.send('x', data)).toBe('sent');
    fake.last.drop(); // none acknowledged
    await vi.advanceTimersByTimeAsync(1000);
    fake.last.accept({ ...announced, resume: 'r2', resumed: true, ack: 0 });
    await settle();
    expect(oversize).toEqual([{ data: [BIG], maxFrameBytes: 2000 }]);
    expect(sent()).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(incidents).toEqual(['close 1006']); // the drop, and nothing since: no SessionLostError
  });

  it('messages restored after a reload that are over it are reported by the next page, and the rest sent in order', async () => {
    const queue = { storage: webStorageStore(localStorage), storageKey: 'k' };
    const before = make({ queue }, transport);
    await settle(); // connecting, never answered: the page is offline, the limit unknown
    for (const data of [1, BIG, 2]) expect(before.send('x', data)).toBe('queued');
    const after = make({ queue }, transport); // the reload
    const { oversize, incidents } = watch(after);
    await settle();
    fake.last.accept(announced);
    await settle();
    expect(oversize).toEqual([{ data: [BIG], maxFrameBytes: 2000 }]);
    expect(sent()).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(incidents).toEqual([]);
  });

  it('when nothing else is queued, the store is written without them at once: a reload does not report them again', async () => {
    const queue = { storage: webStorageStore(localStorage), storageKey: 'k' };
    const before = make({ queue }, transport);
    await settle();
    expect(before.send('x', BIG)).toBe('queued');
    expect(localStorage.getItem('k')).toContain(BIG);
    const after = make({ queue }, transport);
    const { oversize } = watch(after);
    await settle();
    fake.last.accept(announced);
    await settle();
    expect(oversize).toEqual([{ data: [BIG], maxFrameBytes: 2000 }]);
    expect(localStorage.getItem('k')).not.toContain(BIG);
    expect(sent()).toEqual([]);
  });
});

describe('servers that say nothing, and batching', () => {
  it('a welcome without b or f means 1 MiB, as before the first welcome', async () => {
    const c = make({}, 'longpoll');
    const { oversize } = watch(c);
    expect(c.send('x', BIG)).toBe('queued');
    await settle();
    fake.last.accept();
    await settle();
    expect(oversize).toEqual([]);
    expect(sent()).toEqual([[1, BIG]]);
    expect(c.send('x', '€'.repeat(340_000))).toBe('sent'); // 1,020,000 bytes
    expect(() => c.send('x', '€'.repeat(350_000))).toThrow(/over 1048576 bytes/);
  });

  it('f sets the limit only: the client batches where the server announced b, never on f alone', async () => {
    for (const announced of [{ f: 4096 }, { b: 4096 }]) {
      const c = make({});
      await settle();
      fake.last.accept(announced);
      await settle();
      for (const n of [1, 2, 3]) c.send('x', n);
      await settle();
      expect(fake.last.sent.filter((t) => !t.startsWith('["h"'))).toHaveLength('f' in announced ? 3 : 2);
      c.close();
    }
  });
});
