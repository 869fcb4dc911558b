/**
 * The handshake, bad input and limits as PROTOCOL.md describes them, checked against the reference
 * server with the client written from the document alone (test/helpers/doc-client.ts), over
 * WebSocket and long polling.
 */
import { describe, expect, it } from 'vitest';
import type { ServerSession } from '../../src/server/index.js';
import { DocWebSocket } from '../helpers/doc-client.js';
import { badFrames, type Kind, range, useDocServer } from '../helpers/doc-client-setup.js';
import { until } from '../helpers/harness.js';

const { start, link } = useDocServer();

describe.each<Kind>(['websocket', 'longpoll'])(
  'the handshake, bad input and limits of the reference server, over %s',
  (kind) => {
    it('accepts what the document allows: 1e0 as a uint, whitespace, 256-unit names, long reasons', async () => {
      const s = await start();
      const c = await link(s, kind);
      const w = await c.hello({ x: 'unknown fields are ignored' });
      const name = '😀'.repeat(128); // 256 UTF-16 code units
      await c.sendText(kind === 'websocket' ? ' [ "e" , 1e0 , "n" , 1 ] ' : ' [ [ "e" , 1e0 , "n" , 1 ] ] ');
      await c.send(['e', 2, name], ['a', 0]);
      await c.next((f) => f[0] === 'a' && f[1] === 2);
      expect(s.got).toEqual([1]);
      await c.send(['c', 4999, 'é'.repeat(123)]); // 246 bytes, but 123 code units: a valid close
      const c2 = await link(s, kind);
      expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: true });
    });

    it.each([
      ['a null resume', { resume: null }],
      ['b 0', { b: 0 }],
      ['a negative ack', { ack: -1 }],
      ['a numeric auth', { auth: 1 }],
    ])('refuses a hello with %s (4400)', async (_, fields) => {
      const s = await start();
      const c = await link(s, kind);
      await c.send(['h', { v: 1, ack: 0, ...fields }]);
      expect(await c.closeCode()).toBe(4400);
    });

    it.each([
      ['a ping', '["p",1]'],
      ['a hello with an extra element', '["h",{"v":1,"ack":0},1]'],
      ['a hello without ack', '["h",{"v":1}]'],
      ['a welcome', '["w",{"v":1,"sid":"s","resume":"r","resumed":false,"ack":0,"hb":[1,1]}]'],
    ])('refuses %s as the first frame (4400)', async (_, text) => {
      const s = await start();
      const c = await link(s, kind);
      await c.sendText(kind === 'websocket' ? text : `[${text}]`);
      expect(await c.closeCode()).toBe(4400);
    });

    it('checks the version before authenticating', async () => {
      let asked = 0;
      const s = await start({ authenticate: () => (asked++, false) });
      const c = await link(s, kind);
      await c.send(['h', { v: 2, ack: 0, auth: 'x' }]);
      expect(await c.closeCode()).toBe(4426);
      expect(asked).toBe(0);
    });

    it.each(badFrames)('closes on %s with 4400 and discards the session', async (_, text) => {
      const s = await start();
      const c1 = await link(s, kind);
      const w = await c1.hello();
      await c1.sendText(kind === 'websocket' ? text : `[${text}]`);
      expect(await c1.closeCode()).toBe(4400);
      expect(s.got).toEqual([]);
      if (c1 instanceof DocWebSocket) expect(await c1.closed).toBe(4400); // the same code on WebSocket
      const c2 = await link(s, kind);
      expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: false });
    });

    it('closes with 4413 on a frame over maxFrameBytes and discards the session', async () => {
      const s = await start({ maxFrameBytes: 2000, longPoll: { maxBodyBytes: 100_000 } });
      const c1 = await link(s, kind);
      const w = await c1.hello();
      await c1.event('n', 'x'.repeat(3000));
      expect(await c1.closeCode()).toBe(4413);
      const c2 = await link(s, kind);
      expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: false });
    });

    it('closes with 4508 when the resend buffer overflows and discards the session', async () => {
      const s = await start({ maxBufferedFrames: 5 });
      const c1 = await link(s, kind);
      const w = await c1.hello();
      for (const i of range(1, 6)) s.sessions[0]?.send('n', i); // never acknowledged
      expect(await c1.closeCode()).toBe(4508);
      const c2 = await link(s, kind);
      expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: false });
    });

    it('refuses another version with 4426 naming its own, and a refused token with 4401', async () => {
      const s = await start({ authenticate: (token) => (token === 'good' ? 'u' : false) });
      const c1 = await link(s, kind);
      await c1.send(['h', { v: 2, ack: 0 }]);
      expect(await c1.next('c')).toEqual(['c', 4426, expect.stringContaining('1')]);
      const c2 = await link(s, kind);
      await c2.send(['h', { v: 1, ack: 0, auth: 'bad' }]);
      expect(await c2.closeCode()).toBe(4401);
      const c3 = await link(s, kind);
      await c3.send(['h', { v: 1, ack: 0 }]); // no token at all
      expect(await c3.closeCode()).toBe(4401);
      const c4 = await link(s, kind);
      expect(await c4.hello({ auth: 'good' })).toMatchObject({ resumed: false });
      expect(s.sessions).toHaveLength(1);
    });

    it('holds frames sent right after hello until its welcome, and refuses the 129th', async () => {
      const waiting: (() => void)[] = [];
      const s = await start({ authenticate: () => new Promise<string>((r) => waiting.push(() => r('u'))) });
      const c1 = await link(s, kind);
      await c1.send(['h', { v: 1, ack: 0 }]);
      for (const i of range(1, 2)) await c1.send(['e', i, 'n', i]); // one per message: no welcome.b yet
      await until(() => waiting.length > 0);
      waiting.shift()?.(); // authenticated: welcome, then the frames held meanwhile
      await c1.next('w');
      await until(() => s.got.length === 2);
      const c2 = await link(s, kind);
      await c2.send(['h', { v: 1, ack: 0 }]);
      for (const i of range(1, 129)) await c2.send(['e', i, 'n', i]); // authentication never ends
      expect(await c2.closeCode()).toBe(4400);
      expect(s.got).toHaveLength(2);
    });

    it('refuses early frames that add up to more than one message (4400)', async () => {
      const s = await start({ maxFrameBytes: 1024, authenticate: () => new Promise<never>(() => undefined) });
      const c = await link(s, kind);
      await c.send(['h', { v: 1, ack: 0 }]);
      await c.send(['e', 1, 'n', 'x'.repeat(600)]);
      await c.send(['e', 2, 'n', 'x'.repeat(600)]);
      expect(await c.closeCode()).toBe(4400);
    });

    it('closes a connection without a hello in time with 4008', async () => {
      const s = await start({ handshakeTimeoutMs: 100 });
      const c = await link(s, kind);
      expect(await c.closeCode()).toBe(4008);
    });

    it('refuses a resume whose hello.ack is beyond what the session sent (4400), keeping the session', async () => {
      const s = await start();
      const c1 = await link(s, kind);
      const w = await c1.hello();
      const c2 = await link(s, kind);
      await c2.send(['h', { v: 1, ack: 1, resume: w.resume }]);
      expect(await c2.closeCode()).toBe(4400);
      await c1.send(['p', 1]); // the connection it has is not taken over either
      await c1.next('o');
      await c1.drop();
      const c3 = await link(s, kind);
      expect(await c3.hello({ resume: w.resume })).toMatchObject({ resumed: true }); // never attached
    });
  },
);

describe('a long-polling body is not a message', () => {
  it('takes a hello and the frames after it in one POST', async () => {
    const s = await start();
    const p = await link(s, 'longpoll');
    await p.send(['h', { v: 1, ack: 0 }], ['e', 1, 'n', 1]);
    await p.next('w');
    await until(() => s.got.length === 1);
  });
});

describe('a WebSocket client that stopped reading', () => {
  it('discards the session of a client that stopped reading once its unsent data passes the bound', async () => {
    const s = await start({ maxSendBufferBytes: 100_000 });
    const c1 = (await link(s, 'websocket')) as DocWebSocket;
    const w = await c1.hello();
    const session = s.sessions[0] as ServerSession;
    const ended = new Promise((r) => session.on('end', r));
    c1.pause();
    for (let i = 0; i < 2000 && session.connected; i++) session.send('n', 'x'.repeat(10_000));
    await ended;
    const c2 = await link(s, 'websocket');
    expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: false });
  });
});
