/**
 * A server re-created on the same http server and path right after `close()` (a hot reload, a
 * config change, a test suite): every transport has to reach the new one at once, even while the
 * old one still holds SockJS and long-polling sessions that collect their close frames.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';
import { createRealtimeServer } from '../../src/server/index.js';
import type { RealtimeServer } from '../../src/server/index.js';
import { until, useFixture } from '../helpers/raw-client.js';

const { fx, cleanup } = useFixture();

const helloText = encodeFrame({ type: 'hello', v: 1, ack: 0 });
/** SockJS messages travel as a JSON array of strings. */
const hello = JSON.stringify([helloText]);

/** The first protocol frame (a welcome, or a close) a SockJS WebSocket peer gets. */
async function sockjsWebSocket(url: string, framed: boolean): Promise<Frame> {
  const ws = new WebSocket(url);
  cleanup.push(() => ws.terminate());
  ws.on('error', () => {});
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    if (framed && text === 'o') ws.send(hello);
    const messages = framed ? (text.startsWith('a') ? (JSON.parse(text.slice(1)) as string[]) : []) : [text];
    for (const m of messages) frames.push(decodeFrame(m) as Frame);
  });
  await new Promise((resolve) => ws.once('open', resolve));
  if (!framed) ws.send(helloText);
  await until(() => frames.length > 0);
  return frames[0] as Frame;
}

/** An xhr-polling SockJS session, opened and handshaken: its first protocol frame. */
async function sockjsXhr(sockjs: string): Promise<{ frame: Frame; at: string }> {
  const at = `${sockjs}/000/${randomBytes(6).toString('hex')}`;
  const poll = async () => (await fetch(`${at}/xhr`, { method: 'POST' })).text();
  expect(await poll()).toBe('o\n');
  await fetch(`${at}/xhr_send`, { method: 'POST', body: hello });
  const text = await poll();
  const messages = JSON.parse(text.slice(1)) as string[];
  return { frame: decodeFrame(messages[0] as string) as Frame, at };
}

/** A long-polling connection, handshaken: its first protocol frame. */
async function longPoll(base: string): Promise<Frame> {
  const poll = `${base}/poll`;
  const { c } = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
  await fetch(`${poll}?c=${c}`, { method: 'POST', body: `[${helloText}]` });
  const frames = (await (await fetch(`${poll}?c=${c}`)).json()) as unknown[];
  return decodeFrame(JSON.stringify(frames[0])) as Frame;
}

function welcomeOf(frame: Frame, rt: RealtimeServer): void {
  expect(frame).toMatchObject({ type: 'welcome' });
  if (frame.type === 'welcome') expect(rt.sessions.has(frame.sid)).toBe(true);
}

describe('a server re-created on the same http server and path after close()', () => {
  it('gets every transport at once, while the old one still holds sessions; no listener of the old one stays', async () => {
    const { rt: old, http, url } = await fx.server();
    const base = url.replace(/^ws/, 'http');
    const sockjs = `${base}/sockjs`;
    const upgradeListeners = http.listenerCount('upgrade');
    // The old server holds a session on every transport when it closes.
    await fx.connected(url);
    expect((await sockjsXhr(sockjs)).frame.type).toBe('welcome');
    expect((await longPoll(base)).type).toBe('welcome');
    expect(old.sessions.size).toBe(3);

    const closing = old.close();
    const rt = createRealtimeServer({ server: http });
    cleanup.push(() => rt.close());

    // Only the new server's listeners take upgrades: an old SockJS one would refuse them with 1001.
    expect(http.listenerCount('upgrade')).toBe(upgradeListeners);
    welcomeOf((await fx.connected(url)).welcome as Frame, rt);
    welcomeOf(await sockjsWebSocket(`${url}/sockjs/000/${randomBytes(6).toString('hex')}/websocket`, true), rt);
    welcomeOf(await sockjsWebSocket(`${url}/sockjs/websocket`, false), rt);
    welcomeOf((await sockjsXhr(sockjs)).frame, rt);
    welcomeOf(await longPoll(base), rt);
    expect(rt.sessions.size).toBe(5);
    await closing;
    expect(old.sessions.size).toBe(0);
  });
});

describe('servers re-created on one http server', () => {
  it('let the closed ones go, and each request still reaches the application once', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { rt: first, http } = await fx.server();
    const appRequests: string[] = [];
    http.on('request', (req) => appRequests.push(req.url ?? ''));
    await first.close(); // the fixture holds this one
    let rt = createRealtimeServer({ server: http });
    const closed: WeakRef<object>[] = [];
    // A hot reload, three times: each new server's request listener wraps the ones before it.
    for (let i = 0; i < 3; i++) {
      await rt.close();
      closed.push(new WeakRef(rt));
      rt = createRealtimeServer({ server: http });
    }
    cleanup.push(() => rt.close());
    const { port } = http.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${port}/app`)).status).toBe(404); // the fixture's own handler
    expect(appRequests).toEqual(['/app']);
    await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef holds its target until the job ends
    gc();
    expect(closed.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  });
});
