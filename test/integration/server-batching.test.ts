/**
 * Batches on the server (PROTOCOL.md, "Batches"), against the real server with a raw `ws` client:
 * what the welcome announces, what the server sends to a client that takes batches (and to one
 * that does not), and how it reads the batches a client sends.
 */
import SockJSClient from 'sockjs-client';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';
import type { ServerSession } from '../../src/server/index.js';
import type { SockJSConstructor } from '../../src/transports/transport.js';
import { useHarness } from '../helpers/harness.js';
import { Fixture, until } from '../helpers/raw-client.js';

/** sockjs-client's Node build, injected. */
const SockJS: SockJSConstructor = SockJSClient;

const fx = new Fixture();
afterEach(() => fx.cleanup());

type Session = ServerSession<Record<string, unknown>, Record<string, unknown>, undefined>;

async function start(options: { maxFrameBytes?: number } = {}) {
  const started = await fx.server<Record<string, unknown>, Record<string, unknown>, undefined>(options);
  const sessions: Session[] = [];
  started.rt.on('connection', (s) => sessions.push(s));
  return { ...started, sessions };
}

const event = (seq: number, data: unknown): Frame => ({ type: 'event', seq, event: 'm', data });
const batchOf = (...frames: Frame[]): string => `[${frames.map(encodeFrame).join(',')}]`;

describe('server batches', () => {
  it('announces its frame limit as welcome.b on WebSocket', async () => {
    const { url } = await start({ maxFrameBytes: 4096 });
    const { welcome } = await fx.connected(url);
    expect(welcome.b).toBe(4096);
  });

  it('sends one frame per message to a client whose hello has no b', async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url);
    for (let i = 1; i <= 3; i++) sessions[0]?.send('m', i);
    await until(() => client.all('event').length === 3);
    expect(client.messages.slice(1)).toEqual(['["e",1,"m",1]', '["e",2,"m",2]', '["e",3,"m",3]']);
  });

  it('sends the first frame of a tick at once and the rest of the tick as one batch', async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url, { b: 1 << 20 });
    for (let i = 1; i <= 3; i++) sessions[0]?.send('m', i);
    await until(() => client.all('event').length === 3);
    expect(client.messages.slice(1)).toEqual(['["e",1,"m",1]', '[["e",2,"m",2],["e",3,"m",3]]']);
  });

  it('writes a reply at once, even when a frame went at once in an earlier tick and the client was silent since', async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url, { b: 1 << 20 });
    const session = sessions[0] as Session;
    session.on('ask', (n) => {
      session.send('m', n);
      session.send('m', -(n as number));
    });
    session.send('m', 0);
    await until(() => client.all('event').length === 1);
    client.send({ type: 'event', seq: 1, event: 'ask', data: 1 });
    await until(() => client.all('event').length === 3);
    // The reply goes alone at once; the frame after it waits for the end of the tick (alone, so plain).
    expect(client.messages.slice(2)).toEqual(['["e",2,"m",1]', '["e",3,"m",-1]']);
  });

  it("keeps each batch within the client's b (b / 3 code units)", async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url, { b: 120 });
    for (let i = 1; i <= 6; i++) sessions[0]?.send('m', i);
    await until(() => client.all('event').length === 6);
    for (const text of client.messages.slice(1)) expect(text.length).toBeLessThanOrEqual(40);
    expect(client.all('event').map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(client.messages.length).toBeLessThan(7);
  });

  it('re-sends its unacknowledged frames in batches after a resume, complete and in order', async () => {
    const { url, sessions } = await start();
    const first = await fx.connected(url, { b: 1 << 20 });
    for (let i = 1; i <= 500; i++) sessions[0]?.send('m', i);
    await until(() => first.client.all('event').length === 500);
    first.client.terminate();
    await until(() => sessions[0]?.connected === false);
    const again = await fx.connected(url, { b: 1 << 20, ack: 100, resume: first.welcome.resume });
    await until(() => again.client.all('event').length === 400);
    expect(again.client.all('event').map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 101));
    expect(again.client.messages.length).toBeLessThan(20);
  });

  it("reads a client's batch in order and acknowledges it", async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url);
    const got: unknown[] = [];
    sessions[0]?.on('m', (data) => got.push(data));
    client.sendText(batchOf(event(1, 'a'), event(2, 'b'), event(1, 'dup'), event(3, 'c')));
    await until(() => client.all('ack').some((a) => a.ack === 3));
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it('refuses a batch with a bad frame as a whole (4400): nothing of it is delivered', async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url);
    const got: unknown[] = [];
    sessions[0]?.on('m', (data) => got.push(data));
    client.sendText(`[${encodeFrame(event(1, 'a'))},["e",2]]`);
    expect((await client.waitClosed()).code).toBe(4400);
    expect(got).toEqual([]);
  });

  it('applies maxFrameBytes to a whole batch (4413), even when every frame in it is small', async () => {
    const { url } = await start({ maxFrameBytes: 1024 });
    const { client } = await fx.connected(url);
    const frames = Array.from({ length: 40 }, (_, i) => event(i + 1, 'x'.repeat(20)));
    expect(batchOf(...frames).length).toBeGreaterThan(1024);
    client.sendText(batchOf(...frames));
    expect((await client.waitClosed()).code).toBe(4413);
  });

  it('reads nothing after a close frame in a batch', async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url);
    const got: unknown[] = [];
    sessions[0]?.on('m', (data) => got.push(data));
    const ended = new Promise((resolve) => sessions[0]?.on('end', resolve));
    client.sendText(`[${encodeFrame(event(1, 'a'))},["c",1000,"bye"],${encodeFrame(event(2, 'b'))}]`);
    await expect(ended).resolves.toEqual({ code: 1000, reason: 'bye' });
    expect(got).toEqual(['a']);
  });

  it('announces no b on long polling, whose bodies are batches already', async () => {
    const { url } = await start();
    const poll = `${url.replace(/^ws/, 'http')}/poll`;
    const { c } = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
    const hello = encodeFrame({ type: 'hello', v: 1, ack: 0, b: 1 << 20 });
    expect((await fetch(`${poll}?c=${c}`, { method: 'POST', body: `[${hello}]` })).status).toBe(204);
    const body = await (await fetch(`${poll}?c=${c}`)).text();
    const [welcome] = JSON.parse(body) as [[string, Record<string, unknown>]];
    expect(welcome[0]).toBe('w');
    expect(welcome[1]).not.toHaveProperty('b');
    await fetch(`${poll}?c=${c}`, { method: 'DELETE' });
  });
});

describe.each(['websocket', 'sockjs'] as const)('batches end to end over %s', (transport) => {
  const { server, client } = useHarness<{ n: number }, { n: number }>({ transports: [transport], SockJS });

  it('carries a burst each way exactly once and in order', async () => {
    const s = await server();
    const up: number[] = [];
    s.rt.on('connection', (session) => {
      session.on('n', (i) => {
        up.push(i as number);
        if (up.length === 1000) for (let k = 0; k < 1000; k++) session.send('n', k);
      });
    });
    const c = client(s.url);
    const down: number[] = [];
    c.on('n', (i) => down.push(i));
    await c.waitFor('open', { timeoutMs: 8000 });
    for (let k = 0; k < 1000; k++) c.send('n', k);
    await until(() => down.length === 1000, 15_000);
    const expected = Array.from({ length: 1000 }, (_, k) => k);
    expect(up).toEqual(expected);
    expect(down).toEqual(expected);
  });
});
