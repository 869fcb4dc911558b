/**
 * A `ConnectionLink` tells its host exactly once that its handshake ended, on every path (a refused
 * one when its connection is gone): the
 * server's `maxHandshakes` count is only as good as that (server-handshake-limit.test.ts covers it
 * on real sockets).
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors/protocol.js';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import type { ServerConnection } from '../../src/server/connection.js';
import { ConnectionLink } from '../../src/server/handshake.js';
import type { Admission, HandshakeHost, LinkedSession } from '../../src/server/handshake.js';
import { silentLogger } from '../../src/util/logger.js';
import { ManualClock } from '../helpers/manual-clock.js';

const hello = encodeFrame({ type: 'hello', v: 1, ack: 0 });
const resumingHello = encodeFrame({ type: 'hello', v: 1, ack: 0, resume: 'token' });
const goodbye = encodeFrame({ type: 'close', code: CloseCode.Normal, reason: 'client closed' });
/** What the sessions were told, in order. */
const told: string[] = [];
const session: LinkedSession = {
  receive: (_, text) => void told.push(text),
  fail() {},
  connectionClosed: (_, code) => void told.push(`closed ${code}`),
};

function setup(options: { admission?: Admission<LinkedSession>; identity?: unknown } = {}) {
  const clock = new ManualClock();
  const closes: number[] = [];
  let ended = 0;
  let terminated = 0;
  let released = 0;
  let answer: ((identity: unknown) => void) | undefined;
  const connection: ServerConnection = {
    transport: 'websocket',
    request: {} as IncomingMessage,
    send() {},
    close: (code) => void closes.push(code),
    closeTransport() {},
    terminate: () => void terminated++,
  };
  const host: HandshakeHost<LinkedSession> = {
    clock,
    logger: silentLogger,
    handshakeTimeoutMs: 1000,
    maxFrameBytes: 1 << 20,
    authenticate: () =>
      'identity' in options ? Promise.resolve(options.identity) : new Promise((resolve) => (answer = resolve)),
    admit: () => options.admission ?? { ok: true, session },
    reportError() {},
    released: () => void released++,
    handshakeEnded: () => void ended++,
  };
  const link = new ConnectionLink(connection, host);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    clock,
    closes,
    link,
    ended: () => ended,
    terminated: () => terminated,
    released: () => released,
    answer: (id: unknown) => answer?.(id),
    settle,
  };
}

describe('ConnectionLink: the end of a handshake is reported once', () => {
  it('welcome: once, and not again when the connection closes later', async () => {
    const t = setup({ identity: 'ann' });
    t.link.onMessage(hello);
    expect(t.ended()).toBe(0); // authenticating is still a handshake
    await t.settle();
    expect(t.link.handshaking).toBe(false);
    t.link.onClose(1000, '');
    expect(t.ended()).toBe(1);
  });

  // A refused link keeps its place until its connection is gone (a long-polling one holds its close
  // frame for a GET): the end is reported when the connection closes.
  it('refusals: a bad frame, the server closing (refuse 1001) twice, an admission refused, unauthorized', async () => {
    const bad = setup();
    bad.link.onMessage('nonsense');
    bad.link.onClose(CloseCode.ProtocolError, '');
    expect([bad.ended(), bad.closes]).toEqual([1, [CloseCode.ProtocolError]]);

    const shutdown = setup();
    shutdown.link.refuse(CloseCode.GoingAway, 'server shutting down');
    shutdown.link.refuse(CloseCode.GoingAway, 'server shutting down');
    expect(shutdown.ended()).toBe(0);
    shutdown.link.onClose(CloseCode.GoingAway, '');
    expect(shutdown.ended()).toBe(1);

    const full = setup({ identity: 'ann', admission: { ok: false, code: CloseCode.TooManyRequests, reason: 'full' } });
    full.link.onMessage(hello);
    await full.settle();
    expect([full.ended(), full.closes]).toEqual([0, [CloseCode.TooManyRequests]]);
    full.link.onClose(CloseCode.TooManyRequests, '');
    expect(full.ended()).toBe(1);

    const denied = setup({ identity: false });
    denied.link.onMessage(hello);
    await denied.settle();
    expect([denied.ended(), denied.closes]).toEqual([0, [CloseCode.Unauthorized]]);
    denied.link.onClose(CloseCode.Unauthorized, '');
    expect(denied.ended()).toBe(1);
  });

  it('a refused connection that does not close is terminated handshakeTimeoutMs after the refusal', () => {
    const t = setup();
    t.link.onMessage('nonsense');
    t.clock.advance(999);
    expect([t.ended(), t.terminated()]).toEqual([0, 0]);
    t.clock.advance(1);
    expect(t.terminated()).toBe(1);
    t.link.onClose(CloseCode.Abnormal, 'terminated'); // what terminate() leads to
    expect(t.ended()).toBe(1);
  });

  it('timeout, during hello and during authentication (a late answer changes nothing)', async () => {
    for (const sayHello of [false, true]) {
      const t = setup();
      if (sayHello) t.link.onMessage(hello);
      t.clock.advance(1000);
      expect([t.ended(), t.closes]).toEqual([0, [CloseCode.HandshakeTimeout]]);
      t.answer('ann');
      await t.settle();
      t.link.onClose(CloseCode.HandshakeTimeout, '');
      expect(t.ended()).toBe(1);
    }
  });

  it('the connection gone, before hello and while authenticating', async () => {
    for (const sayHello of [false, true]) {
      const t = setup();
      if (sayHello) t.link.onMessage(hello);
      t.link.onClose(1006, '');
      t.answer('ann');
      await t.settle();
      t.link.onProtocolError(new ProtocolError('late'));
      expect([t.ended(), t.closes]).toEqual([1, []]);
    }
  });
});

describe('ConnectionLink: a resume whose client closed for good while it authenticated', () => {
  // PROTOCOL.md, "Handshake": its close frame, held until welcome, ends the session the hello
  // resumes; the connection is reported gone once, after that frame.
  it('is admitted when authenticate answers, and hands the held close frame to the session', async () => {
    told.length = 0;
    const t = setup();
    t.link.onMessage(resumingHello);
    t.link.onMessage(goodbye);
    t.link.onClose(CloseCode.Normal, '');
    expect([t.ended(), t.released()]).toEqual([0, 0]);
    t.answer('ann');
    await t.settle();
    expect(told).toEqual([goodbye, `closed ${CloseCode.Normal}`]);
    expect([t.ended(), t.released(), t.clock.pending]).toEqual([1, 1, 0]);
  });

  it('is let go at the handshake timeout when authenticate never answers', () => {
    told.length = 0;
    const t = setup();
    t.link.onMessage(resumingHello);
    t.link.onMessage(goodbye);
    t.link.onClose(CloseCode.Normal, '');
    t.clock.advance(1000);
    expect([t.ended(), t.released(), t.clock.pending, t.terminated()]).toEqual([1, 1, 0, 0]);
    expect(told).toEqual([]);
  });

  it('not for a new session (none is made for a client that left), nor a close that leaves the session resumable', async () => {
    const resumable = encodeFrame({ type: 'close', code: 3000, reason: 'later' });
    for (const [first, last] of [
      [hello, goodbye],
      [resumingHello, resumable],
    ] as const) {
      told.length = 0;
      const t = setup();
      t.link.onMessage(first);
      t.link.onMessage(last);
      t.link.onClose(CloseCode.Normal, '');
      expect([t.ended(), t.released()]).toEqual([1, 1]);
      t.answer('ann');
      await t.settle();
      expect(told).toEqual([]); // not admitted: a takeover would end the client's other connection
    }
  });
});
