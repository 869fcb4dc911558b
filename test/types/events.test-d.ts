import { describe, expectTypeOf, test } from 'vitest';
import type {
  ClientEventsOf,
  ClientState,
  EventMap,
  LifecycleEvents,
  ValidEventMap,
} from '../../src/client/event-types.js';
import type { EventStream, TypedEmitter } from '../../src/client/events.js';
import type { RetryPolicy } from '../../src/client/retry.js';
import type { SurelinkError } from '../../src/errors/index.js';
import type { ReservedEvent } from '../../src/protocol/frames.js';
import type { TransportName } from '../../src/transports/transport.js';

// The shape RealtimeClient uses: the constraint alone must reject reserved names.

class X<S extends ValidEventMap<S> = EventMap> {}

interface ServerEvents {
  chat: { from: string; text: string };
  price: { symbol: string; value: number };
}

describe('ValidEventMap', () => {
  test('accepts application event maps, declared inline, as interfaces, or not at all', () => {
    expectTypeOf<X<{ chat: { text: string } }>>().not.toBeNever();
    expectTypeOf<X<ServerEvents>>().not.toBeNever();
    expectTypeOf<X>().not.toBeNever();
    expectTypeOf<X<{ 'room:join': { room: string }; opened: boolean }>>().not.toBeNever();
  });

  test('rejects every reserved lifecycle name at compile time', () => {
    // @ts-expect-error 'open' is reserved
    expectTypeOf<X<{ open: string }>>().not.toBeNever();
    // @ts-expect-error 'close' is reserved, even next to valid names
    expectTypeOf<X<{ chat: string; close: { code: number } }>>().not.toBeNever();
    // @ts-expect-error 'error' is reserved
    expectTypeOf<X<{ error: unknown }>>().not.toBeNever();
    // @ts-expect-error 'queue:overflow' is reserved
    expectTypeOf<X<{ 'queue:overflow': number }>>().not.toBeNever();
    // @ts-expect-error 'message' is reserved, whatever its payload type
    expectTypeOf<X<{ message: { text: string } }>>().not.toBeNever();
    interface Clashing {
      state: string;
    }
    // @ts-expect-error an interface with a reserved name is rejected too
    expectTypeOf<X<Clashing>>().not.toBeNever();
  });

  test("rejects 'queue:oversize', the queue's report of messages over the server's frame limit", () => {
    // @ts-expect-error 'queue:oversize' is reserved
    expectTypeOf<X<{ 'queue:oversize': { n: number } }>>().not.toBeNever();
    expectTypeOf<LifecycleEvents['queue:oversize']['maxFrameBytes']>().toBeNumber();
  });

  test('LifecycleEvents names are exactly RESERVED_EVENTS', () => {
    expectTypeOf<keyof LifecycleEvents>().toEqualTypeOf<ReservedEvent>();
  });
});

describe('ClientEventsOf', () => {
  type Events = ClientEventsOf<ServerEvents>;

  test('carries application and lifecycle payloads', () => {
    expectTypeOf<Events['chat']>().toEqualTypeOf<{ from: string; text: string }>();
    expectTypeOf<Events['open']>().toEqualTypeOf<{ readonly transport: TransportName; readonly resumed: boolean }>();
    expectTypeOf<Events['state']['to']>().toEqualTypeOf<ClientState>();
    expectTypeOf<Events['error']>().toEqualTypeOf<SurelinkError>();
    expectTypeOf<keyof Events>().toEqualTypeOf<'chat' | 'price' | ReservedEvent>();
  });

  test('the default EventMap still types lifecycle events precisely', () => {
    expectTypeOf<ClientEventsOf<EventMap>['reconnecting']>().toEqualTypeOf<{
      readonly attempt: number;
      readonly delayMs: number;
    }>();
  });
});

describe('TypedEmitter', () => {
  const events = {} as TypedEmitter<ClientEventsOf<ServerEvents>>;

  test('on() infers the payload from the event name and returns an unsubscribe', () => {
    const off = events.on('chat', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<{ from: string; text: string }>();
    });
    expectTypeOf(off).toEqualTypeOf<() => void>();
    events.on('close', (c) => {
      expectTypeOf(c.willReconnect).toBeBoolean();
    });
    events.once('reconnecting', ({ attempt }) => expectTypeOf(attempt).toBeNumber());
  });

  test('unknown event names and wrong payloads do not compile', () => {
    // @ts-expect-error not an event of this map
    events.on('chatt', () => {});
    // @ts-expect-error payload lacks `from`
    events.emit('chat', { text: 'hi' });
    // @ts-expect-error handler expects the wrong payload
    events.on('price', (p: string) => p);
    // @ts-expect-error off() with a handler for another event's payload
    events.off('chat', (p: { symbol: string; value: number }) => p);
  });

  test('waitFor() and stream() are typed by the event', () => {
    expectTypeOf(events.waitFor('price')).toEqualTypeOf<Promise<{ symbol: string; value: number }>>();
    expectTypeOf(events.waitFor('open', { timeoutMs: 5000 })).resolves.toHaveProperty('resumed');
    const prices = events.stream('price');
    expectTypeOf(prices).toEqualTypeOf<EventStream<{ symbol: string; value: number }>>();
    expectTypeOf(prices).toExtend<AsyncIterableIterator<{ symbol: string; value: number }>>();
    expectTypeOf(prices.dropped).toBeNumber();
    // @ts-expect-error listenerCount() takes event names only
    events.listenerCount('nope');
  });

  test('a TypedEmitter requires an object map', () => {
    // @ts-expect-error a primitive is not an event map
    expectTypeOf<TypedEmitter<string>>().not.toBeNever();
  });
});

test('RetryPolicy is a function from context to a delay or null', () => {
  expectTypeOf<RetryPolicy>().returns.toEqualTypeOf<number | null>();
  expectTypeOf<RetryPolicy>().parameter(0).toEqualTypeOf<{
    readonly attempt: number;
    readonly elapsedMs: number;
    readonly reason: string;
  }>();
});
