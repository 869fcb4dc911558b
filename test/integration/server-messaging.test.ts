import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/server/index.js';
import type { RealtimeServerOptions, ServerSession } from '../../src/server/index.js';
import { Fixture, deferred, until } from '../helpers/raw-client.js';

interface ClientEvents {
  chat: { text: string };
  note: string;
}
interface ServerEvents {
  chat: { from: string; text: string };
  tick: number;
}
type Session = ServerSession<ClientEvents, ServerEvents, undefined>;

const fx = new Fixture();
afterEach(() => fx.cleanup());

async function start(options: Omit<RealtimeServerOptions<undefined>, 'server'> = {}) {
  const started = await fx.server<ClientEvents, ServerEvents, undefined>(options);
  const sessions: Session[] = [];
  started.rt.on('connection', (s) => sessions.push(s));
  const errors: Error[] = [];
  started.rt.on('error', (e) => errors.push(e));
  return { ...started, sessions, errors };
}

describe('server messaging', () => {
  it('delivers client events in order to typed handlers and acknowledges them', async () => {
    const { url, sessions } = await start();
    const { client } = await fx.connected(url);
    const got: string[] = [];
    sessions[0]?.on('chat', (data) => got.push(data.text));

    client.send({ type: 'event', seq: 1, event: 'chat', data: { text: 'a' } });
    client.send({ type: 'event', seq: 2, event: 'chat', data: { text: 'b' } });
    client.send({ type: 'event', seq: 3, event: 'note', data: 'ignored by chat handlers' });

    await until(() => client.all('ack').some((a) => a.ack === 3));
    expect(got).toEqual(['a', 'b']);
    // Cumulative acks never go backwards.
    const acks = client.all('ack').map((a) => a.ack);
    expect(acks).toEqual([...acks].sort((x, y) => x - y));
  });

  it('sends server events with consecutive sequence numbers, per session', async () => {
    const { rt, url, sessions } = await start();
    const a = await fx.connected(url);
    const b = await fx.connected(url);
    sessions[0]?.send('chat', { from: 'srv', text: 'only a' });
    rt.broadcast('tick', 1);
    rt.broadcast('tick', 2);

    expect(await a.client.next('event')).toEqual({
      type: 'event',
      seq: 1,
      event: 'chat',
      data: { from: 'srv', text: 'only a' },
    });
    expect(await a.client.next('event')).toEqual({ type: 'event', seq: 2, event: 'tick', data: 1 });
    expect(await a.client.next('event')).toEqual({ type: 'event', seq: 3, event: 'tick', data: 2 });
    expect(await b.client.next('event')).toEqual({ type: 'event', seq: 1, event: 'tick', data: 1 });
    expect(await b.client.next('event')).toEqual({ type: 'event', seq: 2, event: 'tick', data: 2 });
  });

  it('broadcast encodes its data once for every session, and refuses data JSON cannot carry even with none', async () => {
    const { rt, url } = await start();
    expect(() => rt.broadcast('tick', 10n as never)).toThrow(/broadcast\("tick"\): data cannot be encoded as JSON/);
    const a = await fx.connected(url);
    const b = await fx.connected(url);
    let encoded = 0;
    rt.broadcast('tick', { toJSON: () => (encoded++, { n: 1 }) } as never);
    rt.broadcast('tick', (() => 1) as never); // as send() has it: null
    expect(encoded).toBe(1);
    for (const { client } of [a, b]) {
      expect(await client.next('event')).toEqual({ type: 'event', seq: 1, event: 'tick', data: { n: 1 } });
      expect(await client.next('event')).toEqual({ type: 'event', seq: 2, event: 'tick', data: null });
    }
  });

  it('refuses to send reserved names or data JSON cannot carry', async () => {
    const { rt, url, sessions } = await start();
    await fx.connected(url);
    const session = sessions[0] as unknown as ServerSession; // untyped view: exercise runtime checks
    expect(() => session.send('open', {})).toThrow(/reserved/);
    expect(() => session.send('', {})).toThrow(/1-256/);
    expect(() => session.send('big', 10n)).toThrow(/JSON/);
    expect(() => rt.broadcast('close' as 'tick', 1)).toThrow(/reserved/);
    // The class the TSDoc names comes from surelink/server itself: the one 'surelink' exports is
    // another copy in dist/, so `instanceof` against it is false for the server's errors.
    expect(InvalidArgumentError).toBeTypeOf('function');
    expect(() => session.send('open', {})).toThrow(InvalidArgumentError);
    expect(() => rt.broadcast('big' as 'tick', 10n as never)).toThrow(InvalidArgumentError);
  });

  it('answers requests with sequenced responses, including failures and NO_HANDLER', async () => {
    const { rt, url, errors } = await start();
    rt.handle('add', (data) => {
      const { a, b } = data as { a: number; b: number };
      return a + b;
    });
    rt.handle('slow', async (data) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { echoed: data };
    });
    rt.handle('deny', () => {
      throw Object.assign(new Error('not in this room'), { code: 'FORBIDDEN_ROOM' });
    });
    rt.handle('bug', () => {
      throw new TypeError('x is undefined');
    });
    const { client } = await fx.connected(url);

    client.send({ type: 'request', seq: 1, id: 7, event: 'slow', data: 'x' });
    client.send({ type: 'request', seq: 2, id: 8, event: 'add', data: { a: 2, b: 3 } });
    client.send({ type: 'request', seq: 3, id: 9, event: 'deny', data: undefined });
    client.send({ type: 'request', seq: 4, id: 10, event: 'bug', data: undefined });
    client.send({ type: 'request', seq: 5, id: 11, event: 'nobody', data: undefined });

    const responses = [];
    for (let i = 0; i < 5; i++) responses.push(await client.next('response'));
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(byId.get(7)).toMatchObject({ ok: true, data: { echoed: 'x' } });
    expect(byId.get(8)).toMatchObject({ ok: true, data: 5 });
    expect(byId.get(9)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_ROOM', message: 'not in this room' } });
    // A bug's message may name internals: the client gets a generic one, the server's `error` event the error.
    expect(byId.get(10)).toMatchObject({
      ok: false,
      error: { code: 'HANDLER_ERROR', message: 'request handler failed' },
    });
    expect(byId.get(11)).toMatchObject({ ok: false, error: { code: 'NO_HANDLER' } });
    // Responses are sequenced in the order they were produced: 1..5 without gaps.
    expect(responses.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    // Only the unexpected failure is reported as a server error.
    expect(errors.map((e) => e.message)).toEqual(['x is undefined']);
    expect(client.isOpen).toBe(true);
  });

  it('sends the message of a thrown plain { code, message } object, the error shape of the wire itself', async () => {
    const { rt, url, errors } = await start();
    rt.handle('find', () => {
      throw { code: 'NOT_FOUND', message: 'no such user' };
    });
    const { client } = await fx.connected(url);
    client.send({ type: 'request', seq: 1, id: 1, event: 'find', data: null });
    expect(await client.next('response')).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no such user' },
    });
    expect(errors).toEqual([]);
  });

  it('sends the generic message, not "[object Object]", for a code thrown without a string message', async () => {
    const { rt, url, errors } = await start();
    rt.handle('thrown', () => {
      throw { code: 'NOT_FOUND' };
    });
    rt.handle('rejected', () => Promise.reject({ code: 'GONE', message: 42 }));
    rt.handle('empty', () => {
      throw Object.assign(new Error(), { code: 'EMPTY' });
    });
    const { client } = await fx.connected(url);
    client.send({ type: 'request', seq: 1, id: 1, event: 'thrown', data: null });
    client.send({ type: 'request', seq: 2, id: 2, event: 'rejected', data: null });
    client.send({ type: 'request', seq: 3, id: 3, event: 'empty', data: null });
    const responses = [await client.next('response'), await client.next('response'), await client.next('response')];
    expect(responses.sort((a, b) => a.id - b.id)).toMatchObject(
      ['NOT_FOUND', 'GONE', 'EMPTY'].map((code) => ({ ok: false, error: { code, message: 'request handler failed' } })),
    );
    expect(errors).toEqual([]);
  });

  it("keeps a Node system error's message (paths, hosts) from the client, though it has a code", async () => {
    const { rt, url, errors } = await start();
    const missing = path.join(os.tmpdir(), 'surelink-no-such-dir', 'secrets.json');
    rt.handle('config', () => readFile(missing, 'utf8'));
    const { client } = await fx.connected(url);
    client.send({ type: 'request', seq: 1, id: 1, event: 'config', data: null });
    const response = await client.next('response');
    expect(response).toMatchObject({ ok: false, error: { code: 'HANDLER_ERROR', message: 'request handler failed' } });
    expect(JSON.stringify(response)).not.toContain('secrets.json');
    await until(() => errors.length === 1);
    expect(errors[0]?.message).toContain('ENOENT');
  });

  it('answers a request whose handler throws a value that throws when read, and reports it', async () => {
    const { rt, url, errors } = await start();
    const unreadable = new Error('hidden');
    Object.defineProperty(unreadable, 'message', {
      get() {
        throw new Error('message getter');
      },
    });
    rt.handle('bad-message', () => {
      throw unreadable;
    });
    rt.handle('bad-code', () => {
      throw Object.defineProperty(new Error('coded'), 'code', {
        get() {
          throw new Error('code getter');
        },
      });
    });
    rt.handle('bad-prototype', () => {
      // `instanceof` runs the trap: reporting this error must not throw either.
      throw new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('trap');
          },
        },
      );
    });
    const { client } = await fx.connected(url);
    client.send({ type: 'request', seq: 1, id: 1, event: 'bad-message', data: null });
    client.send({ type: 'request', seq: 2, id: 2, event: 'bad-code', data: null });
    client.send({ type: 'request', seq: 3, id: 3, event: 'bad-prototype', data: null });

    // The requests were acknowledged, so the client never re-sends them: each must be answered.
    for (const id of [1, 2, 3])
      expect(await client.next('response')).toMatchObject({ id, ok: false, error: { code: 'HANDLER_ERROR' } });
    await until(() => errors.length === 3);
    expect(client.isOpen).toBe(true);
  });

  it('runs a re-sent request once and acknowledges the duplicate again', async () => {
    const { rt, url } = await start();
    let runs = 0;
    rt.handle('charge', () => ++runs);
    const { client } = await fx.connected(url);

    const request = { type: 'request', seq: 1, id: 1, event: 'charge', data: 100 } as const;
    client.send(request);
    expect(await client.next('response')).toMatchObject({ id: 1, ok: true, data: 1 });
    await until(() => client.all('ack').length >= 1);
    client.send(request);
    await until(() => client.all('ack').length >= 2);

    expect(runs).toBe(1);
    expect(client.all('ack').map((a) => a.ack)).toEqual([1, 1]);
    expect(client.all('response')).toHaveLength(1);
  });

  it('answers ping with a pong carrying the same timestamp', async () => {
    const { url } = await start();
    const { client } = await fx.connected(url);
    client.send({ type: 'ping', ts: 1234.5 });
    expect(await client.next('pong')).toEqual({ type: 'pong', ts: 1234.5 });
  });

  it('keeps the socket alive when an event handler throws, and reports the error', async () => {
    const { url, sessions, errors } = await start();
    const { client } = await fx.connected(url);
    const got: string[] = [];
    sessions[0]?.on('note', () => {
      throw new Error('handler bug');
    });
    sessions[0]?.on('note', async (text) => {
      got.push(text);
      throw new Error('async handler bug');
    });
    client.send({ type: 'event', seq: 1, event: 'note', data: 'one' });
    client.send({ type: 'event', seq: 2, event: 'note', data: 'two' });
    await until(() => errors.length === 4);
    expect(got).toEqual(['one', 'two']);
    client.send({ type: 'ping', ts: 2 });
    expect(await client.next('pong')).toMatchObject({ ts: 2 });
  });

  it('survives throwing connection listeners', async () => {
    const { rt, url, errors } = await start();
    rt.on('connection', () => {
      throw new Error('listener bug');
    });
    const crashed = deferred<void>();
    rt.on('error', () => crashed.resolve());
    const { client } = await fx.connected(url);
    await crashed.promise;
    expect(errors[0]?.message).toBe('listener bug');
    client.send({ type: 'ping', ts: 3 });
    expect(await client.next('pong')).toMatchObject({ ts: 3 });
  });

  it('ends the session for good when the client sends close 1000', async () => {
    const { rt, url, sessions } = await start();
    const { client } = await fx.connected(url);
    const ended = deferred<{ code: number; reason: string }>();
    sessions[0]?.on('end', ended.resolve);
    client.send({ type: 'close', code: 1000, reason: 'bye' });
    expect(await ended.promise).toEqual({ code: 1000, reason: 'bye' });
    expect(rt.sessions.size).toBe(0);
    expect((await client.waitClosed()).code).toBe(1000);
    expect(client.all('close')).toEqual([]); // the receiver of close sends nothing more
  });

  it('keeps the session resumable when the client closes with a retryable code', async () => {
    const { rt, url, sessions } = await start();
    const { client, welcome } = await fx.connected(url);
    const lost = deferred<{ code: number; reason: string }>();
    sessions[0]?.on('disconnect', lost.resolve);
    client.send({ type: 'close', code: 4000, reason: 'heartbeat timeout' });
    expect(await lost.promise).toEqual({ code: 4000, reason: 'heartbeat timeout' });
    expect((await client.waitClosed()).code).toBe(4000);
    expect(client.all('close')).toEqual([]);
    expect(rt.sessions.get(welcome.sid)?.connected).toBe(false);
  });

  it('lets the application close a session with its own code', async () => {
    const { rt, url, sessions } = await start();
    const { client } = await fx.connected(url);
    sessions[0]?.close(4100, 'kicked');
    expect(await client.next('close')).toEqual({ type: 'close', code: 4100, reason: 'kicked' });
    expect(await client.waitClosed()).toEqual({ code: 4100, reason: 'kicked' });
    expect(rt.sessions.size).toBe(0);
    expect(() => sessions[0]?.close(1006)).toThrow(/close code/);
    // Sending to an ended session is a silent no-op.
    expect(() => sessions[0]?.send('tick', 1)).not.toThrow();
  });

  it('allows one handler per request name and removes it on unsubscribe', async () => {
    const { rt, url } = await start();
    const off = rt.handle('x', () => 1);
    expect(() => rt.handle('x', () => 2)).toThrow(/already/);
    off();
    rt.handle('x', () => 2);
    const { client } = await fx.connected(url);
    client.send({ type: 'request', seq: 1, id: 1, event: 'x', data: undefined });
    expect(await client.next('response')).toMatchObject({ ok: true, data: 2 });
  });

  it('a stale handle() remover, called again, leaves a later registration of the same function alone', async () => {
    const { rt, url } = await start();
    const handler = (): number => 1;
    const off = rt.handle('x', handler);
    off();
    rt.handle('x', handler); // re-registered, e.g. by a module set up again
    off(); // the first registration's remover, called once more: it removed the second one
    const { client } = await fx.connected(url);
    client.send({ type: 'request', seq: 1, id: 1, event: 'x', data: undefined });
    expect(await client.next('response')).toMatchObject({ ok: true, data: 1 });
  });
});
