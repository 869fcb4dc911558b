/**
 * PROTOCOL.md claims to be precise enough to write a client in another language. The client in
 * test/helpers/doc-client.ts was written from the document alone; here it checks what the
 * document promises of the reference server, over WebSocket and long polling. The handshake, bad
 * input and limits are in protocol-doc-server-input.test.ts, what is specific to one transport in
 * protocol-doc-server-transports.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ServerSession } from '../../src/server/index.js';
import type { DocWebSocket, Frame } from '../helpers/doc-client.js';
import { type Kind, range, useDocServer } from '../helpers/doc-client-setup.js';
import { until } from '../helpers/harness.js';

const { start, link } = useDocServer();
const tagged = (tag: string) => (f: Frame) => f[0] === tag;

describe.each<Kind>(['websocket', 'longpoll'])('the reference server against the document, over %s', (kind) => {
  it('welcomes with the documented fields, alone', async () => {
    const s = await start({ maxFrameBytes: 50_000 });
    const c = await link(s, kind);
    const w = await c.hello({ b: 4096 });
    expect(w).toMatchObject({ v: 1, resumed: false, ack: 0, hb: [60_000, 10_000] });
    expect(w.sid).toEqual(expect.any(String));
    expect(w.resume).toMatch(/^.{22,}$/); // ≥ 128 random bits
    expect(w.resume).not.toBe(w.sid);
    expect(w.b).toBe(kind === 'websocket' ? 50_000 : undefined);
    if (kind === 'websocket') expect(c.messages[0]?.value).toEqual(['w', w]); // not in a batch
    expect(s.sessions.map((x) => x.id)).toEqual([w.sid]);
  });

  it('delivers events both ways in order, acknowledges cumulatively and answers pings', async () => {
    const s = await start();
    const c = await link(s, kind);
    await c.hello();
    await c.event('n', 1);
    await c.event('n', null); // an explicit null is a value
    await c.event('n'); // no data: omitted
    await c.send(['e', 4, 'n', { deep: [1] }]);
    c.seq = 4;
    await c.next((f) => f[0] === 'a' && f[1] === 4);
    expect(s.got).toEqual([1, null, undefined, { deep: [1] }]);
    s.sessions[0]?.send('n', 'x');
    s.sessions[0]?.send('n', undefined);
    expect(await c.sequenced()).toEqual(['e', 1, 'n', 'x']);
    expect(await c.sequenced()).toEqual(['e', 2, 'n']);
    await c.send(['p', 12.5]);
    expect(await c.next('o')).toEqual(['o', 12.5]);
    await c.send(['p', -3e3]);
    expect(await c.next('o')).toEqual(['o', -3000]);
  });

  it('answers requests once each: data, no data, the handler code, HANDLER_ERROR, NO_HANDLER', async () => {
    const s = await start();
    s.rt.handle('add', (d) => (d as number[]).reduce((a, b) => a + b, 0));
    s.rt.handle('nothing', () => undefined);
    s.rt.handle('nope', () => {
      throw Object.assign(new Error('not today'), { code: 'NOPE' });
    });
    s.rt.handle('boom', () => Promise.reject(new Error('broken')));
    const c = await link(s, kind);
    await c.hello();
    s.sessions[0]?.send('n', 0); // S→C seq 1: responses share the numbering
    await c.request('add', [1, 2, 3]);
    await c.request('nothing');
    await c.request('nope');
    await c.request('boom');
    await c.request('missing');
    const rs: Frame[] = [];
    for (let i = 0; i < 6; i++) rs.push(await c.sequenced());
    const byId = new Map(rs.filter(tagged('r')).map((r) => [r[2], r]));
    expect(rs.map((r) => r[1])).toEqual(range(1, 6));
    expect(byId.get(1)?.slice(2)).toEqual([1, 1, 6]);
    expect(byId.get(2)?.slice(2)).toEqual([2, 1]);
    expect(byId.get(3)?.slice(2)).toEqual([3, 0, { code: 'NOPE', message: expect.any(String) }]);
    expect(byId.get(4)?.slice(2)).toEqual([4, 0, { code: 'HANDLER_ERROR', message: expect.any(String) }]);
    expect(byId.get(5)?.slice(2)).toEqual([5, 0, { code: 'NO_HANDLER', message: expect.any(String) }]);
  });

  it('answers RATE_LIMITED and BUSY without running the handler, and stays open', async () => {
    const s = await start({ requestRateLimit: { perSecond: 0.001, burst: 1 }, maxPendingRequests: 1 });
    let calls = 0;
    s.rt.handle('hang', () => (calls++, new Promise(() => undefined)));
    s.rt.handle('quick', () => calls++);
    const c1 = await link(s, kind);
    await c1.hello();
    await c1.request('hang');
    await c1.request('hang');
    expect(await c1.sequenced()).toEqual(['r', 1, 2, 0, { code: 'BUSY', message: expect.any(String) }]);
    const c2 = await link(s, kind);
    await c2.hello();
    await c2.request('quick');
    await c2.sequenced(); // a handler counts as running until its response is sent
    await c2.request('quick');
    expect(await c2.sequenced()).toEqual(['r', 2, 2, 0, { code: 'RATE_LIMITED', message: expect.any(String) }]);
    expect(calls).toBe(2);
    await c2.send(['p', 1]);
    await c2.next('o');
  });

  it('replays unacknowledged frames on resume, keeps the sid, and runs a re-sent request once', async () => {
    const s = await start();
    let calls = 0;
    let release: (v: string) => void = () => undefined;
    s.rt.handle('slow', () => (calls++, new Promise<string>((r) => (release = r))));
    const c1 = await link(s, kind);
    const w1 = await c1.hello();
    const session = s.sessions[0] as ServerSession;
    await c1.request('slow');
    await until(() => calls === 1);
    for (const i of range(1, 3)) session.send('n', i);
    for (const i of range(1, 3)) expect(await c1.sequenced()).toEqual(['e', i, 'n', i]);
    const detached = new Promise((r) => session.on('disconnect', r));
    await c1.drop(); // delivered 1..3, acknowledged none
    await detached;
    session.send('n', 4); // for the detached session: buffered
    release('late');
    const c2 = await link(s, kind);
    const w2 = await c2.hello({ resume: w1.resume, ack: 1 });
    expect(w2).toMatchObject({ sid: w1.sid, resumed: true, ack: 1 });
    const replay = [await c2.sequenced(), await c2.sequenced(), await c2.sequenced(), await c2.sequenced()];
    await c2.send(['q', 1, 1, 'slow']); // re-sent although welcome.ack covers it: a duplicate
    await c2.next((f) => f[0] === 'a' && f[1] === 1); // still acknowledged
    expect(replay).toEqual([
      ['e', 2, 'n', 2],
      ['e', 3, 'n', 3],
      ['e', 4, 'n', 4],
      ['r', 5, 1, 1, 'late'],
    ]);
    await c2.send(['p', 1]);
    await c2.next('o');
    expect(calls).toBe(1);
    expect(s.sessions).toHaveLength(1);
  });

  // PROTOCOL.md said a retryable close left the session resumable; session.close() ends it for good.
  it.each([1000, 4403, 1012, 4321])('ends the session with its own close %i', async (code) => {
    const s = await start();
    const c1 = await link(s, kind);
    const w = await c1.hello();
    s.sessions[0]?.close(code, 'bye');
    expect(await c1.closeCode()).toBe(code);
    const c2 = await link(s, kind);
    expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: false });
  });

  it('moves a session to the other transport on resume, replaying what is unacknowledged', async () => {
    const s = await start();
    const c1 = await link(s, kind === 'websocket' ? 'longpoll' : 'websocket');
    const w = await c1.hello();
    s.sessions[0]?.send('n', 1);
    await c1.sequenced();
    await c1.drop();
    const c2 = await link(s, kind);
    expect(await c2.hello({ resume: w.resume, ack: 0 })).toMatchObject({ resumed: true, sid: w.sid });
    expect(await c2.sequenced()).toEqual(['e', 1, 'n', 1]);
    expect(s.sessions[0]?.transport).toBe(kind);
  });

  it('starts a new session for an unknown token, ignoring hello.ack', async () => {
    const s = await start();
    const c = await link(s, kind);
    const w = await c.hello({ resume: 'no-such-token-aaaaaaaaaaaaaaaa', ack: 41 });
    expect(w).toMatchObject({ resumed: false, ack: 0 });
    const c2 = await link(s, kind);
    expect(await c2.hello({ ack: 41 })).toMatchObject({ resumed: false, ack: 0 }); // no token either
    s.sessions[0]?.send('n', 1);
    expect(await c.sequenced()).toEqual(['e', 1, 'n', 1]);
  });

  it('ignores a stale ack, and ends a session on grace expiry or overflow while detached', async () => {
    const s = await start({ sessionGraceMs: 50, maxBufferedFrames: 2 });
    const c1 = await link(s, kind);
    const w1 = await c1.hello();
    for (const i of range(1, 2)) s.sessions[0]?.send('n', i);
    await c1.sequenced();
    await c1.send(['a', 2], ['a', 1]); // cumulative: the lower one is stale
    await c1.send(['p', 1]);
    await c1.next('o');
    const ended = (i: number) => new Promise((r) => s.sessions[i]?.on('end', r));
    let end = ended(0);
    await c1.drop();
    await end; // the grace period passed
    const c2 = await link(s, kind);
    const w2 = await c2.hello({ resume: w1.resume });
    expect(w2.resumed).toBe(false);
    end = ended(1);
    s.sessions[1]?.send('n', 1);
    await c2.sequenced();
    await c2.drop();
    for (const i of range(2, 3)) s.sessions[1]?.send('n', i); // 3 unacknowledged, detached: over 2
    await end;
    const c3 = await link(s, kind);
    expect(await c3.hello({ resume: w2.resume })).toMatchObject({ resumed: false });
  });

  it("keeps a session to its identity, caps new sessions, and ends one on the client's 1000", async () => {
    const s = await start({ authenticate: (token) => token ?? false, maxSessions: 1 });
    const c1 = await link(s, kind);
    const w1 = await c1.hello({ auth: 'ann' });
    const c2 = await link(s, kind);
    await c2.send(['h', { v: 1, ack: 0, auth: 'bob', resume: w1.resume }]); // not found: a new session
    expect(await c2.closeCode()).toBe(4429); // and no room for one
    const c3 = await link(s, kind);
    expect(await c3.hello({ auth: 'ann', resume: w1.resume })).toMatchObject({ resumed: true }); // admitted
    await c3.send(['c', 1000, 'bye']);
    await until(() => s.rt.sessions.size === 0);
    const c4 = await link(s, kind);
    expect(await c4.hello({ auth: 'ann', resume: w1.resume })).toMatchObject({ resumed: false });
  });

  it('cuts a close reason to 123 UTF-8 bytes of whole code points, and refuses reserved names', async () => {
    const s = await start();
    const c = await link(s, kind);
    await c.hello();
    const session = s.sessions[0] as ServerSession;
    expect(() => session.send('open' as never, 1 as never)).toThrow();
    session.close(4999, `é${'😀'.repeat(40)}`);
    const reason = (await c.next('c'))[2] as string;
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toBe(`é${'😀'.repeat(30)}`); // 2 + 30 × 4 bytes; a 31st would make 126
  });

  it('sends close 1001 when it shuts down', async () => {
    const s = await start();
    const c = await link(s, kind);
    await c.hello();
    const closing = s.rt.close();
    expect(await c.closeCode()).toBe(1001);
    await closing;
  });

  it('pings after its interval of silence, and drops a client that never answers (no close frame)', async () => {
    const s = await start({ heartbeat: { intervalMs: 100, timeoutMs: 100 } });
    const c = await link(s, kind);
    expect((await c.hello()).hb).toEqual([100, 100]);
    const dropped = new Promise((r) => s.sessions[0]?.on('disconnect', r));
    expect(await c.next('p')).toEqual(['p', expect.any(Number)]);
    await dropped;
    expect(c.closeFrame).toBeUndefined();
  });
});

describe('a resume taking a WebSocket over', () => {
  it('drops the older connection without a close frame', async () => {
    const s = await start();
    const c1 = (await link(s, 'websocket')) as DocWebSocket;
    const w = await c1.hello();
    const c2 = await link(s, 'websocket');
    expect(await c2.hello({ resume: w.resume })).toMatchObject({ resumed: true });
    expect(await c1.closed).toBe(1006);
    expect(c1.closeFrame).toBeUndefined();
  });
});
