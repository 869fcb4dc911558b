/**
 * Application payloads at the edges, end to end against the real server, on each transport alone
 * and in both directions: sizes at the limits (ASCII, 3-byte and 4-byte characters), unicode that
 * JSON, SockJS or HTTP might mangle, values JSON changes, and values it cannot encode. What is sent
 * is what arrives, as JSON.parse(JSON.stringify(x)); what cannot arrive is refused at the call,
 * never by a close that ends the session (and everything in flight with it).
 */
import { describe, expect, it } from 'vitest';
import type { RealtimeClient } from '../../src/client/client.js';
import { InvalidArgumentError, RemoteError } from '../../src/errors/index.js';
import type { ServerSession } from '../../src/server/index.js';
import type { SessionSnapshot, SessionStore } from '../../src/storage/store.js';
import { createSockJSTransport } from '../../src/transports/sockjs.js';
import type { ClientOptions } from '../../src/client/options.js';
import { until, useHarness } from '../helpers/harness.js';
import { LOOPBACK_CLIENT, type TestServer } from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

type Events = Record<string, unknown>;
const { server, client, defer } = useHarness<Events, Events>(LOOPBACK_CLIENT);

const MiB = 1 << 20;
/** What JSON makes of `x`: what the other side must see. */
const viaJson = (x: unknown): unknown => {
  const text = JSON.stringify(x);
  return text === undefined ? undefined : JSON.parse(text);
};

interface Rig {
  s: TestServer<Events, Events>;
  c: RealtimeClient<Events, Events>;
  session: ServerSession<Events, Events>;
  /** Payloads of event 'x' the server received, in order. */
  atServer: unknown[];
  /** Payloads of event 'x' the client received, in order. */
  atClient: unknown[];
  /** Every close, error and open the client reported after the first open. */
  incidents: string[];
}

async function rig(options: ClientOptions, serverOptions: Parameters<typeof server>[0] = {}): Promise<Rig> {
  const s = await server(serverOptions);
  const atServer: unknown[] = [];
  const sessions: ServerSession<Events, Events>[] = [];
  s.rt.on('connection', (session) => {
    sessions.push(session);
    session.on('x', (d) => atServer.push(d));
  });
  s.rt.handle('echo', (d) => d);
  const c = client(s.url, options);
  const atClient: unknown[] = [];
  c.on('x', (d) => atClient.push(d));
  await c.waitFor('open', { timeoutMs: 8000 });
  const incidents: string[] = [];
  c.on('close', ({ code, reason }) => incidents.push(`close ${code} ${reason}`));
  c.on('error', (e) => incidents.push(`error ${e.name} ${e.message}`));
  c.on('open', ({ resumed }) => incidents.push(`open resumed=${String(resumed)}`));
  return { s, c, session: sessions[0] as ServerSession<Events, Events>, atServer, atClient, incidents };
}

/** A string of `unit` repeated to about `bytes` UTF-8 bytes. */
const ofBytes = (unit: string, bytes: number): string => unit.repeat(Math.floor(bytes / Buffer.byteLength(unit)));

/** Sends a marker both ways and waits for it: the link and the session still carry messages. */
async function stillCarries(r: Rig, marker: string): Promise<void> {
  r.c.send('x', marker);
  r.session.send('x', marker);
  await until(() => r.atServer.at(-1) === marker && r.atClient.at(-1) === marker);
}

const TRANSPORTS = ['websocket', 'sockjs', 'longpoll'] as const;

describe.each(TRANSPORTS)('payload edges on %s alone', (transport) => {
  const only: ClientOptions = { transports: [transport] };

  it('sizes: a frame just under 1 MiB arrives whole; one over it in UTF-8 bytes is refused by send()/request(), and the session goes on', async () => {
    const r = await rig(only);
    // Just under, as UTF-8: ASCII, 3-byte (€, 1 code unit) and 4-byte (emoji, 2 code units) characters.
    const under = [ofBytes('a', MiB - 100), ofBytes('€', MiB - 100), ofBytes('😀', MiB - 100)];
    for (const text of under) expect(r.c.send('x', text)).toBe('sent');
    await until(() => r.atServer.length === 3, 15_000);
    expect(r.atServer).toEqual(under);
    // Just over in bytes, though 400,000 '€' are far under 1 MiB of code units: the server counts
    // bytes, refused it with 4413 and dropped the session, losing every other message in flight.
    for (const text of [ofBytes('a', MiB + 10), ofBytes('€', MiB + 10), ofBytes('😀', MiB + 10), '€'.repeat(400_000)]) {
      expect(() => r.c.send('x', text)).toThrow(InvalidArgumentError);
      await expect(r.c.request('echo', text)).rejects.toThrow(InvalidArgumentError);
    }
    await stillCarries(r, 'after the refusals');
    expect(r.incidents).toEqual([]);
  });

  it('sizes, server to client: a frame just under the client limit arrives; one over it is refused by session.send(), broadcast() and a response, and the session goes on', async () => {
    const r = await rig(only);
    // The client counts code units (1 MiB of them): 18 go to `["e",n,"x",` and `]` around the data.
    const fits = 'a'.repeat(MiB - 30);
    const big = 'é'.repeat(MiB);
    r.session.send('x', fits);
    await until(() => r.atClient.length === 1, 15_000);
    expect(r.atClient[0]).toBe(fits);
    expect(() => r.session.send('x', big)).toThrow(InvalidArgumentError);
    expect(() => r.s.rt.broadcast('x', big)).toThrow(InvalidArgumentError);
    r.s.rt.handle('big', () => big);
    const failed = await r.c.request('big').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(RemoteError);
    expect(failed).toMatchObject({ remoteCode: 'HANDLER_ERROR' });
    await stillCarries(r, 'after the refusals');
    expect(r.incidents).toEqual([]);
  });

  it('batches: a burst of 3-byte and 4-byte characters, 4 MB each way, goes in batches the other side takes', async () => {
    const r = await rig(only);
    // Each message is 60,000 code units: several make a batch (or a long-polling body) far over
    // 1 MiB in bytes if it were cut by code units.
    const burst = Array.from({ length: 24 }, (_, i) => (i % 2 ? '€' : '😀').repeat(i % 2 ? 60_000 : 30_000) + i);
    // One way, then the other: both at once, several MB each way wedge SockJS's WebSocket
    // sub-transport in Node, where faye-websocket at both ends stops reading while its own writes
    // are backed up (websocket-driver's IO), until the heartbeat ends the connection. Browsers read
    // with a native WebSocket.
    for (const text of burst) r.c.send('x', text);
    await until(() => r.atServer.length === burst.length, 15_000);
    for (const text of burst) r.session.send('x', text);
    await until(() => r.atClient.length === burst.length, 15_000);
    expect(r.atServer).toEqual(burst);
    expect(r.atClient).toEqual(burst);
    expect(r.incidents).toEqual([]);
  });

  // A server with a lower maxFrameBytes used to close with 4413 on a frame over it that the client
  // let go (under its own 1 MiB): the session ended, and everything in flight with it. Its welcome
  // says its limit now (b on WebSocket and SockJS, f on long polling, where a frame also travels in
  // a body of at most longPoll.maxBodyBytes, 2 bytes of brackets more), and the client keeps to it.
  const limit = transport === 'longpoll' ? 1998 : 2000;

  it('a server with a lower maxFrameBytes: send() and request() refuse a frame over it at the call, naming it; smaller ones go, and the session goes on', async () => {
    const r = await rig(only, { maxFrameBytes: 2000 });
    const big = 'é'.repeat(1500); // 1500 code units, 3000 bytes: under the client's own 1 MiB
    expect(() => r.c.send('x', big)).toThrow(InvalidArgumentError);
    expect(() => r.c.send('x', big)).toThrow(`'x' is over ${limit} bytes`);
    await expect(r.c.request('echo', big)).rejects.toThrow(`'echo' is over ${limit} bytes`);
    const fits = 'é'.repeat(900); // 1800 bytes, and room for the rest of the frame
    expect(r.c.send('x', fits)).toBe('sent');
    await expect(r.c.request('echo', fits)).resolves.toBe(fits);
    await stillCarries(r, 'after the refusals');
    expect(r.atServer).toEqual([fits, 'after the refusals']);
    expect(r.incidents).toEqual([]);
    expect([...r.s.rt.sessions.values()]).toEqual([r.session]);
  });

  it('a server with a lower maxFrameBytes: messages queued over it before its limit was known, restored after a reload, are reported and never sent; the session and the rest of the queue go on, in order', async () => {
    const s = await server({ maxFrameBytes: 2000 });
    const atServer: unknown[] = [];
    const sessions: string[] = [];
    s.rt.on('connection', (session) => {
      sessions.push(session.id);
      session.on('x', (d) => atServer.push(d));
    });
    const saved = new Map<string, string>();
    const storage: SessionStore = {
      load: (k) => (saved.has(k) ? (JSON.parse(saved.get(k) as string) as SessionSnapshot) : undefined),
      save: (k, snap) => void saved.set(k, JSON.stringify(snap)),
      remove: (k) => void saved.delete(k),
      // The pages follow each other in one process, and Node 22+ has Web Locks (per process): as a
      // store shared by tabs, the first page, never closed, would keep its lock from the next.
      perTab: true,
    };
    const queue = { storage, storageKey: 'page' };
    // The first page makes the session, then loses its connection for good (the page is going).
    const proxy = await TcpProxy.start(s.port);
    defer(() => proxy.close());
    const first = client(`ws://127.0.0.1:${proxy.port}/realtime`, { ...only, queue, reconnect: false });
    await first.waitFor('open', { timeoutMs: 8000 });
    first.send('x', 'first page');
    await until(() => atServer.length === 1);
    proxy.cut();
    await until(() => first.state === 'closed');
    // The next page queues before it ever connects, so before any welcome: 1 MiB applies, and a
    // frame of 3000 bytes is queued (and stored) like any other. It goes before it connects.
    const big = 'é'.repeat(1500);
    const second = client(s.url, { ...only, queue, autoConnect: false });
    for (const data of ['a', big, 'b']) expect(second.send('x', data)).toBe('queued');
    await until(() => saved.get('page')?.includes('"data":"b"') === true);
    // The page after it restores the session and that queue, and connects.
    const third = client(s.url, { ...only, queue });
    const incidents: string[] = [];
    third.on('error', (e) => incidents.push(`error ${e.name} ${e.message}`));
    third.on('close', (e) => incidents.push(`close ${e.code}`));
    const reported = third.waitFor('queue:oversize', { timeoutMs: 8000 });
    await expect(third.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport, resumed: true });
    const { oversize, maxFrameBytes } = await reported;
    expect(oversize.map((m) => m.data)).toEqual([big]);
    expect(maxFrameBytes).toBe(limit);
    third.send('x', 'after');
    await until(() => atServer.length === 4);
    expect(atServer).toEqual(['first page', 'a', 'b', 'after']);
    expect(sessions).toHaveLength(1); // one session, resumed: the frame never reached the server
    expect(s.rt.sessions.size).toBe(1);
    expect(incidents).toEqual([]);
  });

  it('unicode: lone surrogates, U+2028/2029, NUL, emoji, format characters and odd names arrive as sent, both ways', async () => {
    const r = await rig(only);
    const values: unknown[] = [
      '\ud800',
      'a\udc00b',
      '\udbff\udfff',
      '\u2028\u2029',
      '\u0000\u0001\u001f\u007f',
      '😀👩‍👩‍👧‍👦🇫🇷',
      '\u00ad\u0600\u200b\u200c\u200d\u200e\u2060\ufeff\ufff0\uffff',
      '"\\/\b\f\n\r\t',
      { '\ud800': '\u2028', '': ['\u0000', { '😀': null }] },
      '€'.repeat(70_000), // longer than one batch (65,536 code units)
    ];
    for (const v of values) r.c.send('x', v);
    for (const v of values) r.session.send('x', v);
    await until(() => r.atServer.length === values.length && r.atClient.length === values.length, 15_000);
    expect(r.atServer).toEqual(values);
    expect(r.atClient).toEqual(values);
    for (const v of values.slice(0, 4)) await expect(r.c.request('echo', v)).resolves.toEqual(v);
    // Names: spaces, dots, emoji, NUL, a lone surrogate, U+2028, and the longest allowed (256 units).
    const names = ['a b', 'a.b', '😀', '\u0000', '\ud800', '\u2028', 'n'.repeat(256), `${'😀'.repeat(127)}ab`];
    const seenByServer: string[] = [];
    const seenByClient: string[] = [];
    for (const n of names) r.session.on(n, (d) => seenByServer.push(`${n}:${String(d)}`));
    for (const n of names) r.c.on(n, (d) => seenByClient.push(`${n}:${String(d)}`));
    for (const n of names) r.c.send(n, 1);
    for (const n of names) r.session.send(n, 2);
    await until(() => seenByServer.length === names.length && seenByClient.length === names.length);
    expect(seenByServer).toEqual(names.map((n) => `${n}:1`));
    expect(seenByClient).toEqual(names.map((n) => `${n}:2`));
    expect(() => r.c.send('n'.repeat(257), 1)).toThrow(InvalidArgumentError);
    expect(() => r.session.send('n'.repeat(257), 1)).toThrow(InvalidArgumentError);
    expect(r.incidents).toEqual([]);
  });

  it('values JSON changes arrive as JSON makes them; values it cannot encode are refused at the call on both sides', async () => {
    const r = await rig(only);
    const changed: unknown[] = [
      null,
      NaN,
      -0,
      Infinity,
      new Date(0),
      new Map([[1, 2]]),
      new Set([1]),
      new Uint8Array([1, 2]),
      { toJSON: () => 'J' },
      [undefined, () => 1, Symbol('s')],
      // eslint-disable-next-line no-sparse-arrays
      [, 1],
      { a: undefined, b: () => 1 },
      Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }),
    ];
    for (const v of changed) r.c.send('x', v);
    for (const v of changed) r.session.send('x', v);
    await until(() => r.atServer.length === changed.length && r.atClient.length === changed.length);
    expect(r.atServer).toEqual(changed.map(viaJson));
    expect(r.atClient).toEqual(changed.map(viaJson));
    for (const v of changed) await expect(r.c.request('echo', v)).resolves.toEqual(viaJson(v));
    // No data, and what JSON drops entirely (a function, a symbol): the client sends no data; the
    // server's send() puts them in its frame array, where JSON makes them null (server-messaging.test.ts
    // pins that for broadcast() too).
    r.atServer.length = 0;
    r.atClient.length = 0;
    for (const v of [undefined, () => 1, Symbol('s')]) {
      r.c.send('x', v);
      r.session.send('x', v);
    }
    await until(() => r.atServer.length === 3 && r.atClient.length === 3);
    expect(r.atServer).toEqual([undefined, undefined, undefined]);
    expect(r.atClient).toEqual([undefined, null, null]);
    // What JSON cannot encode throws InvalidArgumentError at the call, on either side.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throwing = {
      toJSON() {
        throw new Error('boom');
      },
    };
    for (const bad of [1n, { n: 1n }, cyclic, throwing]) {
      expect(() => r.c.send('x', bad)).toThrow(InvalidArgumentError);
      await expect(r.c.request('echo', bad)).rejects.toThrow(InvalidArgumentError);
      expect(() => r.session.send('x', bad)).toThrow(InvalidArgumentError);
      expect(() => r.s.rt.broadcast('x', bad)).toThrow(InvalidArgumentError);
    }
    r.s.rt.handle('bigint', () => 1n);
    await expect(r.c.request('bigint')).rejects.toMatchObject({ remoteCode: 'HANDLER_ERROR' });
    await stillCarries(r, 'after the refusals');
    expect(r.incidents).toEqual([]);
  });
});

describe.each(['websocket', 'xhr-streaming', 'xhr-polling'])('payload edges on SockJS over %s', (sub) => {
  // SockJS escapes some unicode ranges itself on its HTTP sub-transports.
  const only: ClientOptions = { transports: [createSockJSTransport({ transports: [sub] })] };

  it('carries unicode and a frame just under the limits unchanged, both ways', async () => {
    const r = await rig(only);
    const values = [
      '\ud800\u2028\u2029\u0000\u00ad\u0600\u200c\ufeff\ufff0\uffff\udfff😀',
      String.fromCharCode(...Array.from({ length: 0x2100 }, (_, i) => i)),
      ofBytes('€', MiB - 100),
    ];
    for (const v of values) r.c.send('x', v);
    for (const v of values.slice(0, 2)) r.session.send('x', v);
    r.session.send('x', 'a'.repeat(MiB - 30));
    await until(() => r.atServer.length === 3 && r.atClient.length === 3, 15_000);
    expect(r.atServer).toEqual(values);
    expect(r.atClient).toEqual([...values.slice(0, 2), 'a'.repeat(MiB - 30)]);
    expect(r.incidents).toEqual([]);
  });

  it('carries characters SockJS escapes (6 bytes on its wire for 3 of UTF-8) up to the limits, both ways', async () => {
    const r = await rig(only);
    const escaped = ofBytes('\uf900', MiB - 100); // CJK compatibility: in sockjs-client's escaped ranges
    expect(r.c.send('x', escaped)).toBe('sent');
    r.session.send('x', '\uf900'.repeat(MiB - 30));
    await until(() => r.atServer.length === 1 && r.atClient.length === 1, 15_000);
    expect(r.atServer[0]).toBe(escaped);
    expect(r.atClient[0]).toBe('\uf900'.repeat(MiB - 30));
    expect(r.incidents).toEqual([]);
  });
});
