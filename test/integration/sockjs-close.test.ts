/**
 * A SockJS connection the server ends is closed at once on its WebSocket routes. On the raw route
 * (`${prefix}/websocket`) sockjs hands the close code to faye-websocket, which refuses codes other
 * than 1000 and 3000-4999: a close with 1001 (server shutdown), 1011, or 1006 (terminated: heartbeat,
 * taken over by a resume) left the socket open. After a terminate the peer got no close frame
 * either, and learned of it only from its own heartbeat (30 s by default). sockjs's own websocket
 * transport always closes its socket with 1000 after a SockJS close frame carrying the code.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';
import type { ServerSession } from '../../src/server/index.js';
import { until, useFixture } from '../helpers/raw-client.js';

const { fx, cleanup } = useFixture();

const hello = encodeFrame({ type: 'hello', v: 1, ack: 0 });

/** A peer on a SockJS WebSocket route that has its welcome: `framed` speaks SockJS framing. */
async function peer(sockjs: string, framed: boolean) {
  const url = framed ? `${sockjs}/000/${randomBytes(6).toString('hex')}/websocket` : `${sockjs}/websocket`;
  const ws = new WebSocket(url);
  cleanup.push(() => ws.terminate());
  ws.on('error', () => {});
  const frames: Frame[] = [];
  /** SockJS close frames (`c[code,reason]`) on the framed route. */
  const sockjsCloses: unknown[] = [];
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    if (framed && text === 'o') ws.send(JSON.stringify([hello]));
    if (framed && text.startsWith('c')) sockjsCloses.push(JSON.parse(text.slice(1)));
    const messages = framed ? (text.startsWith('a') ? (JSON.parse(text.slice(1)) as string[]) : []) : [text];
    for (const m of messages) frames.push(decodeFrame(m) as Frame);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  if (!framed) ws.send(hello);
  await until(() => frames.some((f) => f.type === 'welcome'));
  return { ws, frames, sockjsCloses, closed };
}

/** Resolves with the close code, or fails well before any heartbeat would have noticed. */
function closedWithin<T>(closed: Promise<T>, ms = 3000): Promise<T> {
  return Promise.race([
    closed,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms)),
  ]);
}

async function start() {
  const started = await fx.server();
  const sessions: ServerSession[] = [];
  started.rt.on('connection', (s) => sessions.push(s));
  return { ...started, sessions, sockjs: `${started.url}/sockjs` };
}

describe('SockJS close on the raw WebSocket route', () => {
  it('a connection taken over by a resume is closed at once with a retryable 4000', async () => {
    const { url, sockjs } = await start();
    const old = await peer(sockjs, false);
    const welcome = old.frames.find((f) => f.type === 'welcome') as { resume: string };
    const { welcome: resumed } = await fx.connected(url, { resume: welcome.resume });
    expect(resumed.resumed).toBe(true);
    expect(await closedWithin(old.closed)).toBe(CloseCode.HeartbeatTimeout);
    expect(old.frames.map((f) => f.type)).toEqual(['welcome']); // no close frame: the socket's code tells
  });

  it.each([
    ['server.close()', CloseCode.GoingAway, 'server shutting down'],
    ['session.close(1011)', CloseCode.InternalError, 'broken'],
  ])('%s: the close frame with the code, then the socket closes with 1000', async (how, code, reason) => {
    const { rt, sockjs, sessions } = await start();
    const p = await peer(sockjs, false);
    if (how === 'server.close()') await rt.close();
    else sessions[0]?.close(code, reason);
    expect(await closedWithin(p.closed)).toBe(CloseCode.Normal);
    expect(p.frames.at(-1)).toEqual({ type: 'close', code, reason });
  });

  it('a code faye takes (4321) goes to the socket as it is', async () => {
    const { sockjs, sessions } = await start();
    const p = await peer(sockjs, false);
    sessions[0]?.close(4321, 'bye');
    expect(await closedWithin(p.closed)).toBe(4321);
  });
});

describe('SockJS close on the SockJS websocket transport (sockjs closes these itself)', () => {
  it('taken over, or closed with a code faye refuses: a SockJS close frame with the code, then 1000', async () => {
    const { url, sockjs, sessions } = await start();
    const old = await peer(sockjs, true);
    const welcome = old.frames.find((f) => f.type === 'welcome') as { resume: string };
    await fx.connected(url, { resume: welcome.resume });
    expect(await closedWithin(old.closed)).toBe(CloseCode.Normal);
    expect(old.sockjsCloses).toEqual([[CloseCode.Abnormal, 'connection terminated']]);
    const other = await peer(sockjs, true);
    sessions.at(-1)?.close(1011, 'broken');
    expect(await closedWithin(other.closed)).toBe(CloseCode.Normal);
    expect(other.sockjsCloses).toEqual([[1011, 'broken']]);
  });
});
