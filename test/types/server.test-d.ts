import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import { describe, expectTypeOf, test } from 'vitest';
import {
  createRealtimeServer,
  type DisconnectInfo,
  type EndInfo,
  type RealtimeServer,
  type ResumeInfo,
  type ServerSession,
  type ServerTransportName,
} from '../../src/server/index.js';

// The README's maps: what each side sends. The server receives ClientEvents and sends ServerEvents.
interface ServerEvents {
  chat: { from: string; text: string };
  price: { symbol: string; value: number };
}
interface ClientEvents {
  chat: { text: string };
}

const server = createServer();

describe('createRealtimeServer', () => {
  test('carries the event maps and the identity to its sessions', () => {
    const rt = createRealtimeServer<ClientEvents, ServerEvents, { userId: string }>({
      server,
      authenticate: (token: string | undefined, req: IncomingMessage) => (token && req.url ? { userId: token } : false),
    });
    expectTypeOf(rt).toEqualTypeOf<RealtimeServer<ClientEvents, ServerEvents, { userId: string }>>();
    rt.on('connection', (session) => {
      expectTypeOf(session).toEqualTypeOf<ServerSession<ClientEvents, ServerEvents, { userId: string }>>();
      expectTypeOf(session.identity).toEqualTypeOf<{ userId: string }>();
      expectTypeOf(session.transport).toEqualTypeOf<ServerTransportName | null>();
    });
    rt.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>());
  });

  test('without maps, any name and payload go, typed unknown', () => {
    const rt = createRealtimeServer({ server });
    rt.broadcast('anything', { x: 1 });
    rt.on('connection', (session) => {
      session.send('whatever', 42);
      session.on('chat', (data) => expectTypeOf(data).toEqualTypeOf<unknown>());
    });
  });

  test("refuses maps that use a reserved name: the client's lifecycle names may not be sent to it", () => {
    // @ts-expect-error 'open' is one of the client's lifecycle events
    createRealtimeServer<ClientEvents, { open: string }>({ server });
    // @ts-expect-error 'queue:overflow' too, even next to valid names
    createRealtimeServer<ClientEvents, { chat: string; 'queue:overflow': number }>({ server });
  });

  test("refuses a client map that uses the session's own lifecycle names or the client's", () => {
    // @ts-expect-error 'end' is the session's own event
    createRealtimeServer<{ end: string }, ServerEvents>({ server });
    // @ts-expect-error 'resume' too
    createRealtimeServer<{ chat: string; resume: number }, ServerEvents>({ server });
    // @ts-expect-error 'error' is reserved on the client, which would never send it
    createRealtimeServer<{ error: string }, ServerEvents>({ server });
  });
});

declare const session: ServerSession<ClientEvents, ServerEvents, string>;
declare const rt: RealtimeServer<ClientEvents, ServerEvents, string>;

describe('ServerSession', () => {
  test("on() types the client's events and the session's lifecycle", () => {
    session.on('chat', (data) => expectTypeOf(data).toEqualTypeOf<{ text: string }>());
    session.on('disconnect', (info) => expectTypeOf(info).toEqualTypeOf<DisconnectInfo>());
    session.on('resume', (info) => expectTypeOf(info).toEqualTypeOf<ResumeInfo>());
    session.on('end', (info) => expectTypeOf(info).toEqualTypeOf<EndInfo>());
    expectTypeOf(session.on('chat', () => {})).toEqualTypeOf<() => void>();
    // @ts-expect-error 'price' is not something the client sends
    session.on('price', () => {});
  });

  test("send() takes the server's events with their payloads only", () => {
    session.send('chat', { from: 'a', text: 'b' });
    session.send('price', { symbol: 'X', value: 1 });
    // @ts-expect-error wrong payload
    session.send('chat', { text: 'b' });
    // @ts-expect-error unknown event
    session.send('nope', {});
    // @ts-expect-error no payload
    session.send('price');
  });

  test('close() takes an optional code and reason', () => {
    session.close();
    session.close(4000, 'bye');
    // @ts-expect-error the code is a number
    session.close('4000');
  });
});

describe('RealtimeServer', () => {
  test('broadcast() is typed like send()', () => {
    rt.broadcast('price', { symbol: 'X', value: 1 });
    // @ts-expect-error wrong payload
    rt.broadcast('price', { symbol: 'X' });
    // @ts-expect-error unknown event
    rt.broadcast('nope', 1);
  });

  test('handle() gets the data and the typed session; it may return a value or a promise', () => {
    const off = rt.handle('join', async (data, s) => {
      expectTypeOf(data).toEqualTypeOf<unknown>();
      expectTypeOf(s.identity).toEqualTypeOf<string>();
      return { ok: true };
    });
    expectTypeOf(off).toEqualTypeOf<() => void>();
    rt.handle('sync', () => 1);
  });

  test('sessions is a read-only map of typed sessions; close() resolves', () => {
    expectTypeOf(rt.sessions).toEqualTypeOf<ReadonlyMap<string, ServerSession<ClientEvents, ServerEvents, string>>>();
    expectTypeOf(rt.close()).toEqualTypeOf<Promise<void>>();
  });
});

describe('events without data', () => {
  test('send() and broadcast() take no data where the payload may be absent (void, undefined), and only there', () => {
    const r = createRealtimeServer<ClientEvents, { tick: void; seen: { n: number } | undefined; chat: string }>({
      server,
    });
    r.broadcast('tick');
    r.broadcast('seen');
    r.broadcast('seen', { n: 1 });
    // @ts-expect-error 'chat' carries a string
    r.broadcast('chat');
    r.on('connection', (s) => {
      s.send('tick');
      s.send('seen');
      // @ts-expect-error 'chat' carries a string
      s.send('chat');
    });
  });
});
