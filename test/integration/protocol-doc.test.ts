/**
 * PROTOCOL.md claims to be precise enough to write a server in another language. The server in
 * test/helpers/doc-server.ts was written from the document alone; here the real client talks to it
 * over WebSocket and long polling (with and without numbered batches, as an older server would).
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientOptions } from '../../src/client/options.js';
import { RemoteError, SessionLostError } from '../../src/errors/index.js';
import type { TransportName } from '../../src/transports/transport.js';
import { DocServer, type DocServerOptions } from '../helpers/doc-server.js';
import { until, useHarness } from '../helpers/harness.js';

type ServerEvents = { n: number; tick: undefined };
type ClientEvents = { n: number };

const variants: { name: string; transport: TransportName; numbered: boolean }[] = [
  { name: 'WebSocket', transport: 'websocket', numbered: true },
  { name: 'long polling', transport: 'longpoll', numbered: true },
  { name: 'long polling without numbered batches', transport: 'longpoll', numbered: false },
];

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(variants)('the real client and a server written from PROTOCOL.md, over $name', (v) => {
  const { client, defer } = useHarness<ServerEvents, ClientEvents>({
    transports: [v.transport],
    upgrade: false,
    rememberTransport: false,
  });

  async function start(options: DocServerOptions = {}): Promise<DocServer> {
    const s = await DocServer.start({ numbered: v.numbered, ...options });
    defer(() => s.stop());
    return s;
  }

  /** A client whose `n` events are collected, once it is open. */
  async function connect(s: DocServer, options: ClientOptions = {}) {
    const c = client(s.url, options);
    const got: number[] = [];
    c.on('n', (n) => got.push(n));
    await expect(c.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: v.transport, resumed: false });
    return { c, got };
  }

  const sent = (s: DocServer, i = -1): unknown[] => (s.created.at(i)?.received ?? []).map((r) => r.data);

  it('opens, carries events both ways in order, answers and rejects requests, and pings', async () => {
    const s = await start({
      handlers: {
        add: (data) => (data as number[]).reduce((a, b) => a + b, 0),
        fail: () => {
          throw Object.assign(new Error('not today'), { code: 'NOPE' });
        },
      },
    });
    const { c, got } = await connect(s);
    const tick = c.waitFor('tick', { timeoutMs: 5000 });
    for (const i of range(1, 5)) s.session.send('n', i);
    s.session.send('tick'); // no data: the element is omitted
    for (const i of range(1, 5)) c.send('n', i);
    await expect(tick).resolves.toBeUndefined();
    await until(() => got.length === 5 && sent(s).length === 5);
    expect(got).toEqual(range(1, 5));
    expect(sent(s)).toEqual(range(1, 5));
    await expect(c.request('add', [1, 2, 3])).resolves.toBe(6);
    const failed = c.request('fail');
    await expect(failed).rejects.toBeInstanceOf(RemoteError);
    await expect(failed).rejects.toMatchObject({ remoteCode: 'NOPE', message: expect.stringContaining('not today') });
    await expect(c.request('missing')).rejects.toMatchObject({ remoteCode: 'NO_HANDLER' });
    expect(s.session.requests).toEqual(['add', 'fail', 'missing']);
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
    expect(s.welcomes).toHaveLength(1);
  });

  it('resumes after a cut with frames in flight both ways: nothing lost, nothing twice', async () => {
    const s = await start();
    const { c, got } = await connect(s);
    const session = s.session;
    s.holdAcks = true; // the server delivers the client's frames but does not acknowledge them
    for (const i of range(1, 3)) c.send('n', i);
    await until(() => sent(s).length === 3);
    for (const i of range(1, 2)) session.send('n', i);
    await until(() => got.length === 2);
    const reopened = c.waitFor('open', { timeoutMs: 8000 });
    session.cut();
    for (const i of range(3, 4)) session.send('n', i); // buffered for the detached session
    for (const i of range(4, 6)) c.send('n', i); // written into the dead link, or queued
    s.holdAcks = false;
    await expect(reopened).resolves.toEqual({ transport: v.transport, resumed: true });
    await until(() => got.length === 4 && sent(s).length === 6);
    expect(await c.ping()).toBeGreaterThanOrEqual(0); // anything re-sent twice would be here by now
    expect(got).toEqual(range(1, 4));
    expect(sent(s)).toEqual(range(1, 6));
    expect(s.created).toHaveLength(1);
    expect(s.welcomes.map((w) => [w.resumed, w.ack, w.sid])).toEqual([
      [false, 0, session.sid],
      [true, 3, session.sid],
    ]);
  });

  it('delivers a response made while the link was down once the session resumes', async () => {
    let answer: (value: string) => void = () => undefined;
    const s = await start({ handlers: { slow: () => new Promise<string>((resolve) => (answer = resolve)) } });
    const { c } = await connect(s);
    const reply = c.request('slow', undefined, { timeoutMs: 8000 });
    await until(() => s.session.requests.length === 1);
    const reopened = c.waitFor('open', { timeoutMs: 8000 });
    s.session.cut();
    answer('late'); // a sequenced response for a detached session: buffered, re-sent on resume
    await expect(reopened).resolves.toEqual({ transport: v.transport, resumed: true });
    await expect(reply).resolves.toBe('late');
    expect(s.session.requests).toEqual(['slow']); // the client did not send it again
  });

  it('starts a new session for an unknown resume token; the client reports the frames it lost', async () => {
    const s = await start();
    const { c, got } = await connect(s);
    s.holdAcks = true;
    c.send('n', 1);
    await until(() => sent(s).length === 1);
    const lost = c.waitFor('error', { timeoutMs: 8000 });
    const reopened = c.waitFor('open', { timeoutMs: 8000 });
    s.sessions.clear(); // as if the grace period had passed
    s.holdAcks = false;
    s.session.cut();
    await expect(reopened).resolves.toEqual({ transport: v.transport, resumed: false });
    await expect(lost).resolves.toBeInstanceOf(SessionLostError);
    expect(s.created).toHaveLength(2);
    expect(s.welcomes[1]).toMatchObject({ resumed: false, ack: 0 });
    c.send('n', 2); // numbering restarts at 1 in both directions
    s.session.send('n', 20);
    await until(() => sent(s).length === 1 && got.length === 1);
    expect(sent(s)).toEqual([2]);
    expect(got).toEqual([20]);
  });

  it('stops on a fatal close code and reconnects, resuming, after a retryable one', async () => {
    const s = await start();
    const { c } = await connect(s);
    const dropped = c.waitFor('close', { timeoutMs: 5000 });
    const reopened = c.waitFor('open', { timeoutMs: 8000 });
    s.session.close(1012, 'restarting');
    await expect(dropped).resolves.toMatchObject({ code: 1012, willReconnect: true });
    await expect(reopened).resolves.toEqual({ transport: v.transport, resumed: true });
    const again = c.waitFor('open', { timeoutMs: 8000 });
    s.session.close(4321, 'a code no table names'); // unknown codes are retried
    await expect(again).resolves.toEqual({ transport: v.transport, resumed: true });
    const closed = c.waitFor('close', { timeoutMs: 5000 });
    s.session.close(4403, 'go away');
    await expect(closed).resolves.toMatchObject({ code: 4403, reason: 'go away', willReconnect: false });
    await until(() => c.state === 'closed');
    expect(s.welcomes.map((w) => w.resumed)).toEqual([false, true, true]);
  });

  it('ends the session after refusing a server frame (4400), so a resume does not replay it', async () => {
    const s = await start();
    const { c, got } = await connect(s);
    const reopened = c.waitFor('open', { timeoutMs: 8000 });
    s.session.send('open', 1); // a reserved name: the client refuses it and closes with 4400
    await expect(reopened).resolves.toEqual({ transport: v.transport, resumed: false });
    expect(s.closesReceived).toEqual([4400]);
    s.session.send('n', 1);
    await until(() => got.length === 1);
    expect(s.welcomes.map((w) => w.resumed)).toEqual([false, false]);
    expect(s.closesReceived).toEqual([4400]);
  });

  it('acknowledges both ways, so neither side keeps what the other has delivered', async () => {
    const s = await start();
    const { c, got } = await connect(s);
    for (const i of range(1, 200)) c.send('n', i);
    for (const i of range(1, 200)) s.session.send('n', i);
    await until(() => sent(s).length === 200 && got.length === 200);
    expect(got).toEqual(range(1, 200));
    expect(sent(s)).toEqual(range(1, 200));
    await until(() => s.session.outbox.size === 0 && s.session.acked === 200); // acks from the client, and to it
    expect(await c.ping()).toBeGreaterThanOrEqual(0); // the pong follows the server's ack
    expect(c.close()).toEqual([]); // nothing unacknowledged left in the client's log
  });

  it('answers the heartbeat pings of a server that announced a short interval', async () => {
    const s = await start({ hb: [100, 5000] });
    // Without a heartbeat of its own the client never pings, so the server is silent for its
    // interval and pings; the client answers each with the same ts.
    const { c } = await connect(s, { heartbeat: false });
    await until(() => s.pongs.length >= 3);
    expect(s.pongs.every((ts) => s.pingsSent.includes(ts as number))).toBe(true);
    expect(c.state).toBe('open');
    expect(s.welcomes).toHaveLength(1);
  });
});

// Found while checking the document against the code: "after a 4400 or 4413 the server discards the
// session (a resume would re-send the same bad frame)" held only for the server's own close. A
// client that refused a server frame and closed with 4400 resumed, got the same frame replayed,
// and closed again, for ever.
describe('the reference server, after the client closed with a code', () => {
  const { server, defer } = useHarness();

  /** A bare WebSocket client: hello (resuming when given a token), and the welcome it gets. */
  async function handshake(url: string, resume?: string) {
    const ws = new WebSocket(url);
    defer(() => ws.terminate());
    const bounded = { signal: AbortSignal.timeout(5000) };
    await once(ws, 'open', bounded);
    ws.send(JSON.stringify(['h', resume === undefined ? { v: 1, ack: 0 } : { v: 1, ack: 0, resume }]));
    const [data] = (await once(ws, 'message', bounded)) as [Buffer];
    const [tag, welcome] = JSON.parse(data.toString()) as [string, { resume: string; resumed: boolean }];
    expect(tag).toBe('w');
    return { ws, welcome, closed: once(ws, 'close', bounded) };
  }

  it.each([
    [4400, false],
    [4413, false],
    [4999, true],
  ])('after %i from the client, a resume gets resumed: %s', async (code, resumed) => {
    const s = await server();
    const first = await handshake(s.url);
    first.ws.send(JSON.stringify(['c', code, 'refused your frame']));
    await first.closed;
    const second = await handshake(s.url, first.welcome.resume);
    expect(second.welcome.resumed).toBe(resumed);
  });
});
