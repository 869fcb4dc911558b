import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { EndInfo, ServerSession } from '../../src/server/index.js';
import type { RawClient } from '../helpers/raw-client.js';
import { Fixture, deferred } from '../helpers/raw-client.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

const MAX_FRAME_BYTES = 4096;

/** Bad input after the handshake, and the close code the server must answer with. */
const cases: { name: string; code: number; act: (c: RawClient) => void }[] = [
  { name: 'malformed JSON', code: CloseCode.ProtocolError, act: (c) => c.sendText('["e",1,"chat"') },
  { name: 'a frame that is not an array', code: CloseCode.ProtocolError, act: (c) => c.sendText('{"type":"event"}') },
  { name: 'an unknown tag', code: CloseCode.ProtocolError, act: (c) => c.sendText('["z",1]') },
  { name: 'an event with seq 0', code: CloseCode.ProtocolError, act: (c) => c.sendText('["e",0,"chat"]') },
  { name: 'an event with a numeric name', code: CloseCode.ProtocolError, act: (c) => c.sendText('["e",1,42]') },
  { name: 'a request without id', code: CloseCode.ProtocolError, act: (c) => c.sendText('["q",1,"add"]') },
  {
    name: 'a reserved event name',
    code: CloseCode.ProtocolError,
    act: (c) => c.send({ type: 'event', seq: 1, event: 'open', data: 1 }),
  },
  {
    name: 'a session lifecycle name',
    code: CloseCode.ProtocolError,
    act: (c) => c.send({ type: 'event', seq: 1, event: 'end', data: 1 }),
  },
  {
    name: 'a sequence gap',
    code: CloseCode.ProtocolError,
    act: (c) => {
      c.send({ type: 'event', seq: 1, event: 'chat', data: 1 });
      c.send({ type: 'event', seq: 3, event: 'chat', data: 3 });
    },
  },
  { name: 'an ack beyond what was sent', code: CloseCode.ProtocolError, act: (c) => c.send({ type: 'ack', ack: 1 }) },
  { name: 'a second hello', code: CloseCode.ProtocolError, act: (c) => c.send({ type: 'hello', v: 1, ack: 0 }) },
  {
    name: 'a welcome from the client',
    code: CloseCode.ProtocolError,
    act: (c) => c.sendText('["w",{"v":1,"sid":"x","resume":"y","resumed":false,"ack":0,"hb":[1,1]}]'),
  },
  { name: 'a response from the client', code: CloseCode.ProtocolError, act: (c) => c.sendText('["r",1,1,1]') },
  { name: 'a binary frame', code: CloseCode.ProtocolError, act: (c) => c.sendBinary(new Uint8Array([91, 93])) },
  {
    name: 'a frame over maxFrameBytes',
    code: CloseCode.FrameTooLarge,
    act: (c) => c.send({ type: 'event', seq: 1, event: 'chat', data: 'x'.repeat(MAX_FRAME_BYTES) }),
  },
  {
    name: 'a frame over maxFrameBytes in multi-byte characters',
    code: CloseCode.FrameTooLarge,
    act: (c) => c.send({ type: 'event', seq: 1, event: 'chat', data: 'é'.repeat(MAX_FRAME_BYTES / 2) }),
  },
];

describe('server protocol errors', () => {
  it.each(cases)('closes with $code on $name, ends that session, and keeps serving others', async ({ code, act }) => {
    const { rt, url } = await fx.server({ maxFrameBytes: MAX_FRAME_BYTES });
    const sessions: ServerSession[] = [];
    rt.on('connection', (s) => sessions.push(s));
    const bystander = await fx.connected(url);
    const culprit = await fx.connected(url);
    const ended = deferred<EndInfo>();
    sessions[1]?.on('end', ended.resolve);
    const delivered: unknown[] = [];
    sessions[1]?.on('chat', (data) => delivered.push(data));

    act(culprit.client);

    expect((await culprit.client.waitClosed()).code).toBe(code);
    expect((await ended.promise).code).toBe(code);
    expect(rt.sessions.has(culprit.welcome.sid)).toBe(false);
    expect(delivered.length).toBeLessThanOrEqual(1); // at most the frame before a gap
    bystander.client.send({ type: 'ping', ts: 7 });
    expect(await bystander.client.next('pong')).toMatchObject({ ts: 7 });
    expect(rt.sessions.has(bystander.welcome.sid)).toBe(true);
  });

  it('sends a close frame with the code before closing the socket', async () => {
    const { url } = await fx.server();
    const { client } = await fx.connected(url);
    client.sendText('not json');
    expect(await client.next('close')).toMatchObject({ type: 'close', code: CloseCode.ProtocolError });
    expect((await client.waitClosed()).code).toBe(CloseCode.ProtocolError);
  });

  it('answers an oversize or malformed hello the same way', async () => {
    const { url } = await fx.server({ maxFrameBytes: 1024 });
    const big = await fx.client(url);
    big.send({ type: 'hello', v: 1, ack: 0, auth: 'x'.repeat(1100) });
    expect((await big.waitClosed()).code).toBe(CloseCode.FrameTooLarge);
    const bad = await fx.client(url);
    bad.sendText('["h",{"v":"1","ack":0}]');
    expect((await bad.waitClosed()).code).toBe(CloseCode.ProtocolError);
  });

  it('cuts off floods far above the limit while they arrive, and still ends the session', async () => {
    const { rt, url } = await fx.server({ maxFrameBytes: 1024 });
    const sessions: ServerSession[] = [];
    rt.on('connection', (s) => sessions.push(s));
    const { client } = await fx.connected(url);
    const ended = deferred<EndInfo>();
    sessions[0]?.on('end', ended.resolve);
    client.sendText('x'.repeat(64 * 1024));
    // ws closes these itself with 1009 (message too big); the session ends with 4413.
    expect((await client.waitClosed()).code).toBe(1009);
    expect((await ended.promise).code).toBe(CloseCode.FrameTooLarge);
  });
});
