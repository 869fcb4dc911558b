import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { DisconnectInfo, EndInfo, RealtimeServerOptions, ServerSession } from '../../src/server/index.js';
import { Fixture, deferred, until } from '../helpers/raw-client.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

async function start(options: Omit<RealtimeServerOptions, 'server'> = {}) {
  const started = await fx.server(options);
  const sessions: ServerSession[] = [];
  started.rt.on('connection', (s) => sessions.push(s));
  const first = await fx.connected(started.url, { auth: 'ann' });
  const session = sessions[0] as ServerSession;
  return { ...started, sessions, session, first };
}

/** Drops the client without a close handshake and waits until the server noticed. */
async function drop(session: ServerSession, client: { terminate(): void }): Promise<DisconnectInfo> {
  const lost = deferred<DisconnectInfo>();
  const off = session.on('disconnect', lost.resolve);
  client.terminate();
  try {
    return await lost.promise;
  } finally {
    off();
  }
}

describe('server session resume', () => {
  it('resumes with the token and re-sends exactly the unacknowledged frames, in order', async () => {
    const { url, session, sessions, first } = await start();
    session.send('n', 1);
    session.send('n', 2);
    session.send('n', 3);
    await until(() => first.client.all('event').length === 3);
    first.client.send({ type: 'ack', ack: 1 });
    const resumed = deferred<unknown>();
    session.on('resume', resumed.resolve);

    expect(await drop(session, first.client)).toMatchObject({ code: 1006 });
    expect(session.connected).toBe(false);
    expect(session.transport).toBeNull();
    session.send('n', 4); // buffered while away

    const { client, welcome } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume, ack: 2 });
    expect(welcome).toMatchObject({ resumed: true, sid: first.welcome.sid, resume: first.welcome.resume, ack: 0 });
    expect(await client.next('event')).toEqual({ type: 'event', seq: 3, event: 'n', data: 3 });
    expect(await client.next('event')).toEqual({ type: 'event', seq: 4, event: 'n', data: 4 });
    expect(await resumed.promise).toEqual({ transport: 'websocket' });
    expect(sessions).toHaveLength(1); // a resume is not a new connection
    expect(session.connected).toBe(true);

    session.send('n', 5);
    expect(await client.next('event')).toMatchObject({ seq: 5, data: 5 });
    expect(client.all('event').map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('delivers client events once across a resume even when the client re-sends them', async () => {
    const { url, session, first } = await start();
    const got: unknown[] = [];
    session.on('n', (data) => got.push(data));
    for (const seq of [1, 2, 3]) first.client.send({ type: 'event', seq, event: 'n', data: seq });
    await until(() => got.length === 3);
    await drop(session, first.client);

    const { client, welcome } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume });
    expect(welcome.ack).toBe(3);
    // A client that missed the ack re-sends 2 and 3, then goes on with 4.
    for (const seq of [2, 3, 4]) client.send({ type: 'event', seq, event: 'n', data: seq });
    await until(() => client.all('ack').some((a) => a.ack === 4));
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('does not run a request again when it is re-sent after a resume; the response is replayed', async () => {
    const { rt, url, session, first } = await start();
    let runs = 0;
    rt.handle('charge', () => ++runs);
    first.client.send({ type: 'request', seq: 1, id: 1, event: 'charge', data: 5 });
    await first.client.next('response');
    await drop(session, first.client);

    // The client never acknowledged the response, so it comes again after welcome.
    const { client } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume, ack: 0 });
    expect(await client.next('response')).toMatchObject({ seq: 1, id: 1, ok: true, data: 1 });
    client.send({ type: 'request', seq: 1, id: 1, event: 'charge', data: 5 });
    await until(() => client.all('ack').some((a) => a.ack === 1));
    client.send({ type: 'request', seq: 2, id: 2, event: 'charge', data: 5 });
    expect(await client.next('response')).toMatchObject({ seq: 2, id: 2, data: 2 });
    expect(runs).toBe(2);
    expect(client.all('response').map((r) => r.id)).toEqual([1, 2]);
  });

  it('forgets what the client acknowledged', async () => {
    const { url, session, first } = await start();
    session.send('n', 1);
    session.send('n', 2);
    await until(() => first.client.all('event').length === 2);
    first.client.send({ type: 'ack', ack: 2 });
    first.client.send({ type: 'ping', ts: 1 });
    await first.client.next('pong'); // the ack was processed before the pong
    await drop(session, first.client);

    const { client } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume, ack: 0 });
    session.send('n', 3);
    expect(await client.next('event')).toMatchObject({ seq: 3 });
    expect(client.all('event').map((e) => e.seq)).toEqual([3]);
  });

  it('starts a new session (resumed: false) when the grace period expired, ignoring hello.ack', async () => {
    const { url, session, sessions, first } = await start({ sessionGraceMs: 50 });
    session.send('n', 1);
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    first.client.terminate();
    expect(await ended.promise).toEqual({ code: 1006, reason: 'session expired' });

    const { welcome } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume, ack: 9 });
    expect(welcome).toMatchObject({ resumed: false, ack: 0 });
    expect(welcome.sid).not.toBe(first.welcome.sid);
    expect(welcome.resume).not.toBe(first.welcome.resume);
    expect(sessions).toHaveLength(2);
  });

  it('treats an unknown resume token as a new session', async () => {
    const { url } = await start();
    const { welcome } = await fx.connected(url, { resume: 'no-such-token', ack: 3 });
    expect(welcome).toMatchObject({ resumed: false, ack: 0 });
  });

  it('ends a session at once on disconnect when sessionGraceMs is 0', async () => {
    const { rt, session, first } = await start({ sessionGraceMs: 0 });
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    first.client.terminate();
    expect((await ended.promise).reason).toBe('session expired');
    expect(rt.sessions.size).toBe(0);
  });

  it('gives a resume by another identity a new session and keeps the session for its owner', async () => {
    const { url, session, first } = await start({ authenticate: (token) => (token ? { user: token } : false) });
    session.send('n', 'for ann');
    await drop(session, first.client);

    // Treated as an unknown token: nothing tells bob the token is live, and ann's frames stay hers.
    const thief = await fx.connected(url, { auth: 'bob', resume: first.welcome.resume });
    expect(thief.welcome.resumed).toBe(false);
    expect(thief.welcome.sid).not.toBe(first.welcome.sid);
    expect(thief.welcome.resume).not.toBe(first.welcome.resume);

    // Identities are compared by value: a fresh { user: 'ann' } object matches.
    const { welcome } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume });
    expect(welcome).toMatchObject({ resumed: true, sid: first.welcome.sid });
  });

  /**
   * A session dropped, then a client that resumes it, sends `close` 1000 and closes its transport
   * while `authenticate` still runs (as PROTOCOL.md, "Handshake", has a client closed for good do).
   * Resolves once the server has seen the transport close; `letThrough` ends the authentication.
   */
  async function closedWhileResuming(): Promise<Awaited<ReturnType<typeof start>> & { letThrough: () => void }> {
    let letThrough: (() => void) | undefined;
    const started = await start({
      authenticate: async (token) => {
        if (token === 'resuming') await new Promise<void>((resolve) => (letThrough = resolve));
        return 'ann';
      },
    });
    const { http, url, session, first } = started;
    await drop(session, first.client);
    const client = await fx.client(url);
    client.send({ type: 'hello', v: 1, ack: 0, auth: 'resuming', resume: first.welcome.resume });
    client.send({ type: 'close', code: CloseCode.Normal, reason: 'client closed' });
    client.close(CloseCode.Normal);
    await client.waitClosed();
    await until(() => letThrough !== undefined);
    let sockets = 1;
    await until(() => (http.getConnections((_, n) => (sockets = n)), sockets === 0));
    return { ...started, letThrough: () => letThrough?.() };
  }

  it('ends the session when its client closes for good while its resume is still authenticating', async () => {
    // With an `authenticate` that takes a moment, the transport closed first and the server dropped
    // the held close frame: the session waited out its grace period (2 min), its slot taken, no `end`.
    const { session, letThrough } = await closedWhileResuming();
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    letThrough(); // the server has seen the transport close before it knows who this is
    expect(await ended.promise).toEqual({ code: CloseCode.Normal, reason: 'client closed' });
    expect(session.connected).toBe(false);
  });

  it('makes no new session for a client that closed for good while its resume authenticated, its session gone', async () => {
    const { rt, url, session, sessions, letThrough } = await closedWhileResuming();
    session.close(); // ended meanwhile (so is one whose grace period ran out)
    letThrough();
    const late = await fx.connected(url, { auth: 'ann' }); // after the admission above, if any
    expect(sessions).toHaveLength(2); // the first, and `late`'s: none for the client that left
    expect([...rt.sessions.keys()]).toEqual([late.welcome.sid]);
  });

  it('refuses a resume whose ack names frames never sent with 4400', async () => {
    const { url, session, first } = await start();
    session.send('n', 1);
    await drop(session, first.client);
    const client = await fx.client(url);
    client.send({ type: 'hello', v: 1, ack: 2, auth: 'ann', resume: first.welcome.resume });
    expect((await client.waitClosed()).code).toBe(CloseCode.ProtocolError);
  });

  it('terminates the old connection when a new one resumes the session', async () => {
    const { url, session, first } = await start();
    const lifecycle: string[] = [];
    session.on('disconnect', () => lifecycle.push('disconnect'));
    session.on('resume', () => lifecycle.push('resume'));
    const { welcome } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume });
    expect(welcome.resumed).toBe(true);
    expect((await first.client.waitClosed()).code).toBe(1006);
    expect(lifecycle).toEqual(['disconnect', 'resume']);
    expect(session.connected).toBe(true);
  });

  it('closes a slow consumer with 4508 and drops the session', async () => {
    const { rt, session, first } = await start({ maxBufferedFrames: 3 });
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    for (let i = 1; i <= 4; i++) session.send('n', i); // never acknowledged
    expect((await first.client.waitClosed()).code).toBe(CloseCode.SlowConsumer);
    expect((await ended.promise).code).toBe(CloseCode.SlowConsumer);
    expect(rt.sessions.size).toBe(0);
    expect(first.client.all('event').map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('lets a client that acknowledges keep up beyond maxBufferedFrames', async () => {
    const { session, first } = await start({ maxBufferedFrames: 3 });
    for (let i = 1; i <= 9; i++) {
      session.send('n', i);
      if (i % 3 === 0) {
        await until(() => first.client.all('event').length === i);
        first.client.send({ type: 'ack', ack: i });
        first.client.send({ type: 'ping', ts: i });
        await first.client.next('pong');
      }
    }
    expect(first.client.isOpen).toBe(true);
    expect(first.client.all('event')).toHaveLength(9);
  });

  it('drops a disconnected session whose buffer overflows', async () => {
    const { url, session, first } = await start({ maxBufferedFrames: 2 });
    await drop(session, first.client);
    const ended = deferred<EndInfo>();
    session.on('end', ended.resolve);
    for (let i = 1; i <= 3; i++) session.send('n', i);
    expect((await ended.promise).code).toBe(CloseCode.SlowConsumer);
    const { welcome } = await fx.connected(url, { auth: 'ann', resume: first.welcome.resume });
    expect(welcome.resumed).toBe(false);
  });
});
