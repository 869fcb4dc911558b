/**
 * `maxSendBufferBytes` on SockJS: a client that stops taking what the server writes ends with 4508
 * (the session is dropped), as on WebSocket and long polling, whether the backlog piles up in the
 * sockjs session's send buffer (a polling client that stops polling) or in the socket its
 * receiver writes to (a WebSocket, SockJS-framed or on the raw route, that stops reading).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import type { EndInfo, RealtimeServerOptions, ServerSession } from '../../src/server/index.js';
import { deferred, flood, until, useFixture } from '../helpers/raw-client.js';

const { fx, cleanup } = useFixture();

const hello = encodeFrame({ type: 'hello', v: 1, ack: 0 });

async function start(options: Omit<RealtimeServerOptions, 'server'>) {
  const started = await fx.server(options);
  const sessions: ServerSession[] = [];
  started.rt.on('connection', (s) => sessions.push(s));
  return { ...started, sessions, sockjs: `${started.url}/sockjs` };
}

/** A WebSocket that says hello (SockJS-framed or not), gets its welcome, then stops reading. */
async function stalledSocket(url: string, framed: boolean): Promise<WebSocket> {
  const ws = new WebSocket(url);
  cleanup.push(() => ws.terminate());
  ws.on('error', () => {});
  let welcomed = false;
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    if (framed && text === 'o') ws.send(JSON.stringify([hello]));
    const messages = framed ? (text.startsWith('a') ? (JSON.parse(text.slice(1)) as string[]) : []) : [text];
    if (messages.some((m) => (decodeFrame(m) as { type?: string }).type === 'welcome')) welcomed = true;
  });
  await new Promise((resolve) => ws.once('open', resolve));
  if (!framed) ws.send(hello);
  await until(() => welcomed);
  ws.pause();
  return ws;
}

describe('SockJS slow consumers (maxSendBufferBytes)', () => {
  it.each([
    ['the SockJS websocket transport', true],
    ['the raw WebSocket route', false],
  ])('%s: a client that stops reading ends with 4508 once its socket holds more than the limit', async (_, framed) => {
    const { sessions, sockjs } = await start({ maxSendBufferBytes: 256 * 1024, maxBufferedFrames: 1_000_000 });
    const route = framed ? `/000/${randomBytes(6).toString('hex')}/websocket` : '/websocket';
    await stalledSocket(`${sockjs}${route}`, framed);
    const session = sessions[0] as ServerSession;
    const ended = deferred<EndInfo>(20_000);
    session.on('end', ended.resolve);
    // Loopback socket buffers take a few MiB before the socket's own backlog grows.
    const sent = await flood(session, ended.promise, 256 * 1024 * 1024);
    const end = await ended.promise;
    expect(end).toMatchObject({ code: CloseCode.SlowConsumer, reason: expect.stringContaining('not reading') });
    expect(sent).toBeLessThan(128 * 1024 * 1024);
  });

  it.each([
    ['the SockJS websocket transport', true],
    ['the raw WebSocket route', false],
  ])('%s: a client that reads keeps up far beyond the limit', async (_, framed) => {
    const { sessions, sockjs } = await start({ maxSendBufferBytes: 64 * 1024 });
    const route = framed ? `/000/${randomBytes(6).toString('hex')}/websocket` : '/websocket';
    const ws = await stalledSocket(`${sockjs}${route}`, framed);
    let blobs = 0;
    ws.on('message', (data: Buffer) => (blobs += data.toString().split('blob').length - 1));
    ws.resume();
    const session = sessions[0] as ServerSession;
    for (let batch = 1; batch <= 32; batch++) {
      for (let i = 0; i < 6; i++) session.send('blob', 'y'.repeat(8 * 1024)); // 48 KiB at a time
      await until(() => blobs === batch * 6);
    }
    expect(session.connected).toBe(true); // 1.5 MiB through a 64 KiB limit
  });

  it('xhr-streaming: a client that stops reading its stream ends with 4508', async () => {
    const { sessions, sockjs } = await start({ maxSendBufferBytes: 256 * 1024, maxBufferedFrames: 1_000_000 });
    const at = `${sockjs.replace(/^ws/, 'http')}/000/${randomBytes(6).toString('hex')}`;
    const req = request(`${at}/xhr_streaming`, { method: 'POST' });
    cleanup.push(() => req.destroy());
    req.on('error', () => {});
    req.end();
    const res = await new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    await until(() => text.includes('\no\n'));
    await fetch(`${at}/xhr_send`, { method: 'POST', body: JSON.stringify([hello]) });
    await until(() => text.includes('\\"w\\"'));
    res.pause(); // the stream stays open, unread
    const session = sessions[0] as ServerSession;
    const ended = deferred<EndInfo>(20_000);
    session.on('end', ended.resolve);
    const sent = await flood(session, ended.promise, 256 * 1024 * 1024);
    expect(await ended.promise).toMatchObject({ code: CloseCode.SlowConsumer });
    expect(sent).toBeLessThan(128 * 1024 * 1024);
  });

  it('xhr-polling: frames waiting in the sockjs session for a poll end the session with 4508', async () => {
    const { sessions, sockjs } = await start({ maxSendBufferBytes: 64 * 1024 });
    const at = `${sockjs.replace(/^ws/, 'http')}/000/${randomBytes(6).toString('hex')}`;
    const poll = async () => (await fetch(`${at}/xhr`, { method: 'POST' })).text();
    expect(await poll()).toBe('o\n');
    await fetch(`${at}/xhr_send`, { method: 'POST', body: JSON.stringify([hello]) });
    expect(await poll()).toContain('\\"w\\"');
    const session = sessions[0] as ServerSession;
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    // No poll is held: every frame waits in sockjs's send buffer (which it would hold for
    // disconnect_delay, 5 s, and end the session with 1006 only then).
    for (let i = 0; i < 12; i++) session.send('blob', 'z'.repeat(8 * 1024));
    expect(await ended.promise).toMatchObject({ code: CloseCode.SlowConsumer });
    // The next poll collects what was queued before the limit, then the close frame.
    const last = await poll();
    expect(last).toContain(`[\\"c\\",${CloseCode.SlowConsumer},`);
  });

  it('xhr-polling: a client that polls keeps up far beyond the limit', async () => {
    const { sessions, sockjs } = await start({ maxSendBufferBytes: 64 * 1024 });
    const at = `${sockjs.replace(/^ws/, 'http')}/000/${randomBytes(6).toString('hex')}`;
    const poll = async () => (await fetch(`${at}/xhr`, { method: 'POST' })).text();
    await poll();
    await fetch(`${at}/xhr_send`, { method: 'POST', body: JSON.stringify([hello]) });
    await poll();
    const session = sessions[0] as ServerSession;
    let received = 0;
    for (let batch = 1; batch <= 32; batch++) {
      for (let i = 0; i < 6; i++) session.send('blob', 'y'.repeat(8 * 1024)); // 48 KiB per poll
      received += (await poll()).split('blob').length - 1;
    }
    expect(received).toBe(32 * 6); // 1.5 MiB through a 64 KiB limit
    expect(session.connected).toBe(true);
  });
});
