import { describe, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import SockJS from 'sockjs-client';
import {
  RealtimeClient,
  type ClientState,
  type EventStream,
  type LifecycleEvents,
  type QueuedMessage,
  type SendResult,
  type StreamOptions,
  type SurelinkError,
  type ValidEventMap,
  type ValidSendMap,
  type WaitForOptions,
} from '../../src/index.js';

interface ServerEvents {
  chat: { from: string; text: string };
  price: { symbol: string; value: number };
}
interface ClientEvents {
  chat: { text: string };
}

describe('RealtimeClient types', () => {
  const client = new RealtimeClient<ServerEvents, ClientEvents>('wss://example.com/realtime', { autoConnect: false });

  it('types server event payloads and returns an unsubscribe function', () => {
    const off = client.on('chat', (m) => expectTypeOf(m).toEqualTypeOf<{ from: string; text: string }>());
    expectTypeOf(off).toEqualTypeOf<() => void>();
    client.on('price', (p) => expectTypeOf(p.value).toBeNumber());
    // @ts-expect-error not a server event
    client.on('nope', () => {});
  });

  it('types lifecycle events on the same on()', () => {
    client.on('open', (e) => expectTypeOf(e.resumed).toBeBoolean());
    client.on('close', (e) => expectTypeOf(e.willReconnect).toBeBoolean());
    client.on('reconnecting', (e) => expectTypeOf(e.delayMs).toBeNumber());
    client.on('error', (e) => expectTypeOf(e).toEqualTypeOf<SurelinkError>());
    // Raw mode's inbound texts: a transport hands over text only (TransportHandlers.onMessage).
    new RealtimeClient('wss://x', { protocol: 'raw', autoConnect: false }).on('message', (text) =>
      expectTypeOf(text).toEqualTypeOf<string>(),
    );
    client.on('state', (e) =>
      expectTypeOf(e.to).toEqualTypeOf<'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'>(),
    );
  });

  it('types the queue events, queue:oversize with the limit it went by', () => {
    client.on('queue:oversize', (e) => {
      expectTypeOf(e.oversize).toEqualTypeOf<readonly QueuedMessage[]>();
      expectTypeOf(e.maxFrameBytes).toBeNumber();
    });
    client.on('queue:overflow', (e) => expectTypeOf(e.dropped).toEqualTypeOf<readonly QueuedMessage[]>());
    // @ts-expect-error the payload names its messages `oversize`
    client.on('queue:oversize', (e) => e.dropped);
    // @ts-expect-error 'queue:oversize' is reserved: an event map cannot use it
    new RealtimeClient<{ 'queue:oversize': string }>('wss://x', { autoConnect: false });
  });

  it('checks what send() carries', () => {
    expectTypeOf(client.send('chat', { text: 'hi' })).toEqualTypeOf<SendResult>();
    // @ts-expect-error wrong payload
    client.send('chat', { body: 'hi' });
    // @ts-expect-error not a client event
    client.send('price', { symbol: 'X', value: 1 });
  });

  it("refuses send() without the data the event's payload requires", () => {
    // @ts-expect-error 'chat' carries { text }: without it, it would reach the server's handler as undefined
    client.send('chat');
    const c = new RealtimeClient<
      ServerEvents,
      { chat: { text: string }; typing: void; seen: { id: number } | undefined }
    >('wss://x', { autoConnect: false });
    // @ts-expect-error as above, next to events that take none
    c.send('chat');
    // A payload that may be absent goes without data.
    expectTypeOf(c.send('typing')).toEqualTypeOf<SendResult>();
    expectTypeOf(c.send('seen')).toEqualTypeOf<SendResult>();
    // Without maps, any name goes, with or without data.
    const untyped = new RealtimeClient('wss://x', { autoConnect: false });
    untyped.send('anything');
    untyped.send('anything', { x: 1 });
  });

  it('refuses a name ClientEvents lacks, with or without data: a typo is no raw text on a typed client', () => {
    const c = new RealtimeClient<ServerEvents, { chat: { text: string }; typing: void }>('wss://x', {
      autoConnect: false,
    });
    // @ts-expect-error a typo of 'chat', with its data
    c.send('chta', { text: 'hi' });
    // @ts-expect-error a typo of 'typing': it went out as an event no server handler listens to
    c.send('typng');
    const text: string = 'typing';
    // @ts-expect-error any string may be a typo too
    c.send(text);
    // Raw mode has no event names: an untyped client (README) sends any text, a string as well.
    const raw = new RealtimeClient('wss://x', { protocol: 'raw', autoConnect: false });
    expectTypeOf(raw.send('hello, raw server')).toEqualTypeOf<SendResult>();
    expectTypeOf(raw.send(text)).toEqualTypeOf<SendResult>();
    // A map with an index signature is a map: a name it covers goes without data only if it may.
    const indexed = new RealtimeClient<ServerEvents, Record<string, { text: string }>>('wss://x', {
      autoConnect: false,
    });
    // @ts-expect-error its payload is required
    indexed.send('any');
    indexed.send('any', { text: 'hi' });
    const rooms = new RealtimeClient<ServerEvents, { [room: `room:${string}`]: void }>('wss://x', {
      autoConnect: false,
    });
    rooms.send('room:1');
    // @ts-expect-error not a name of the map
    rooms.send('rom:1');
    // A client typed on the receiving side only sends untyped.
    const receiving = new RealtimeClient<ServerEvents>('wss://x', { autoConnect: false });
    receiving.send('anything');
    receiving.send(text, { x: 1 });
  });

  it('takes an auth function that may have no token, as the client does (a hello without auth)', () => {
    const token = (): string | undefined => undefined;
    expectTypeOf(new RealtimeClient('wss://x', { auth: token, autoConnect: false })).toBeObject();
    expectTypeOf(new RealtimeClient('wss://x', { auth: async () => token(), autoConnect: false })).toBeObject();
    // @ts-expect-error null fails the attempt with an AuthError at run time
    new RealtimeClient('wss://x', { auth: () => null, autoConnect: false });
  });

  it('types waitFor and stream', () => {
    expectTypeOf(client.waitFor('price')).resolves.toEqualTypeOf<{ symbol: string; value: number }>();
    expectTypeOf(client.stream('chat')).toMatchTypeOf<AsyncIterable<{ from: string; text: string }>>();
  });

  it('rejects event maps that use a reserved lifecycle name', () => {
    // @ts-expect-error 'open' is reserved for the lifecycle event
    new RealtimeClient<{ open: string }>('wss://x', { autoConnect: false });
    // @ts-expect-error 'error' is reserved too, on the sending side as well
    new RealtimeClient<{ chat: string }, { error: string }>('wss://x', { autoConnect: false });
    // @ts-expect-error the server session's own lifecycle names cannot be sent either
    new RealtimeClient<{ chat: string }, { end: string }>('wss://x', { autoConnect: false });
    expectTypeOf(() => client.send('chat', { text: '' })).toBeFunction();
    // The session's own names are refused only where the server receives them: it may send them.
    const fromServer = new RealtimeClient<{ end: string; resume: number }>('wss://x', { autoConnect: false });
    expectTypeOf(fromServer.waitFor('end')).resolves.toBeString();
  });

  it('keeps state and transport as unions', () => {
    expectTypeOf(client.state).toEqualTypeOf<'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'>();
    expectTypeOf(client.transport).toEqualTypeOf<'websocket' | 'sockjs' | 'longpoll' | null>();
  });

  it('accepts ws, the DOM WebSocket and sockjs-client as injected implementations without a cast', () => {
    expectTypeOf(new RealtimeClient('ws://x', { WebSocket, SockJS, autoConnect: false })).toBeObject();
    expectTypeOf(new RealtimeClient('ws://x', { WebSocket: globalThis.WebSocket, autoConnect: false })).toBeObject();
  });
});

describe('the types of stream() and waitFor() are exported', () => {
  it('so an app can name what stream() returns and pass options it built elsewhere', () => {
    const c = new RealtimeClient<ServerEvents, ClientEvents>('wss://example.test/rt', { autoConnect: false });
    const options: StreamOptions = { bufferSize: 10 };
    const prices: EventStream<ServerEvents['price']> = c.stream('price', options);
    expectTypeOf(prices).toEqualTypeOf<EventStream<{ symbol: string; value: number }>>();
    const wait: WaitForOptions = { timeoutMs: 1000 };
    expectTypeOf(c.waitFor('chat', wait)).resolves.toEqualTypeOf<ServerEvents['chat']>();
  });
});

describe('code generic in the event maps', () => {
  it('sees the lifecycle payloads, as a helper that takes any client needs', () => {
    // A status indicator or a logging hook for every client of an app: before, `e.to` did not
    // compile here (ClientEventsOf<S>['state'] stayed unresolved for a generic S).
    function watch<S extends ValidEventMap<S>, C extends ValidSendMap<C>>(c: RealtimeClient<S, C>): void {
      c.on('state', (e) => expectTypeOf(e.to).toEqualTypeOf<ClientState>());
      c.once('close', (e) => expectTypeOf(e.willReconnect).toBeBoolean());
      expectTypeOf(c.waitFor('open')).resolves.toEqualTypeOf<LifecycleEvents['open']>();
      expectTypeOf(c.stream('reconnecting')).toEqualTypeOf<EventStream<LifecycleEvents['reconnecting']>>();
    }
    watch(new RealtimeClient<ServerEvents, ClientEvents>('wss://x', { autoConnect: false }));
    watch(new RealtimeClient('wss://x', { autoConnect: false }));
  });

  it("types a lifecycle payload as itself under a map with an index signature, not mixed with the map's", () => {
    const c = new RealtimeClient<Record<string, { x: number }>>('wss://x', { autoConnect: false });
    c.on('open', (e) => expectTypeOf(e).toEqualTypeOf<LifecycleEvents['open']>());
    c.on('anything', (e) => expectTypeOf(e).toEqualTypeOf<{ x: number }>());
  });
});
