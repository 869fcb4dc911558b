import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../../src/client/events.js';
import { AbortError, ClosedError, InvalidArgumentError, TimeoutError } from '../../src/errors/index.js';
import { systemClock } from '../../src/util/clock.js';

interface Events {
  chat: { text: string };
  price: number;
  empty: undefined;
}

function setup() {
  const onHandlerError = vi.fn<(error: unknown, event: string) => void>();
  const events = new TypedEmitter<Events>({ clock: systemClock, onHandlerError });
  return { events, onHandlerError };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('on / once / off / emit', () => {
  it('delivers payloads to handlers in registration order', () => {
    const { events } = setup();
    const seen: string[] = [];
    events.on('chat', (m) => seen.push(`a:${m.text}`));
    events.on('chat', (m) => seen.push(`b:${m.text}`));
    events.on('price', (p) => seen.push(`price:${p}`));
    events.emit('chat', { text: 'hi' });
    expect(seen).toEqual(['a:hi', 'b:hi']);
  });

  it('the unsubscribe removes exactly its own registration and is idempotent', () => {
    const { events } = setup();
    const handler = vi.fn();
    const off1 = events.on('price', handler);
    events.on('price', handler);
    off1();
    off1();
    events.emit('price', 1);
    expect(handler).toHaveBeenCalledOnce();
    expect(events.listenerCount('price')).toBe(1);
  });

  it('once fires a single time, even when the event is emitted again from inside a handler', () => {
    const { events } = setup();
    const once = vi.fn();
    events.on('price', (p) => {
      if (p === 1) events.emit('price', 2);
    });
    events.once('price', once);
    events.emit('price', 1);
    events.emit('price', 3);
    expect(once.mock.calls).toEqual([[2]]);
    expect(events.listenerCount('price')).toBe(1);
  });

  it('once can be cancelled before it fires', () => {
    const { events } = setup();
    const once = vi.fn();
    const cancel = events.once('price', once);
    cancel();
    events.emit('price', 1);
    expect(once).not.toHaveBeenCalled();
    expect(events.listenerCount()).toBe(0);
  });

  it('off(event, handler) removes every registration of that handler only', () => {
    const { events } = setup();
    const a = vi.fn();
    const b = vi.fn();
    events.on('price', a);
    events.once('price', a);
    events.on('price', b);
    events.off('price', a);
    events.emit('price', 1);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledOnce();
  });

  it('off(event) removes all handlers of that event and leaves others', () => {
    const { events } = setup();
    const chat = vi.fn();
    events.on('price', vi.fn());
    events.on('price', vi.fn());
    events.on('chat', chat);
    events.off('price');
    expect(events.listenerCount('price')).toBe(0);
    events.emit('chat', { text: 'x' });
    expect(chat).toHaveBeenCalledOnce();
  });

  it('a handler removed during an emit is not called by that emit', () => {
    const { events } = setup();
    const second = vi.fn();
    let offSecond = (): void => {};
    events.on('price', () => offSecond());
    offSecond = events.on('price', second);
    events.emit('price', 1);
    expect(second).not.toHaveBeenCalled();
  });

  it('a throwing handler is reported and the others still run', () => {
    const { events, onHandlerError } = setup();
    const boom = new Error('boom');
    const after = vi.fn();
    events.on('chat', () => {
      throw boom;
    });
    events.on('chat', after);
    expect(() => events.emit('chat', { text: 'x' })).not.toThrow();
    expect(onHandlerError).toHaveBeenCalledExactlyOnceWith(boom, 'chat');
    expect(after).toHaveBeenCalledOnce();
  });

  it('emitting an event nobody listens to is a no-op', () => {
    const { events } = setup();
    expect(() => events.emit('empty', undefined)).not.toThrow();
  });

  it('listenerCount totals all events; removeAllListeners brings it back to 0', () => {
    const { events } = setup();
    events.on('chat', vi.fn());
    events.once('price', vi.fn());
    events.on('price', vi.fn());
    expect(events.listenerCount()).toBe(3);
    expect(events.listenerCount('price')).toBe(2);
    events.removeAllListeners();
    expect(events.listenerCount()).toBe(0);
  });
});

describe('waitFor', () => {
  it('resolves with the next payload and removes its listener', async () => {
    const { events } = setup();
    const p = events.waitFor('chat');
    expect(events.listenerCount('chat')).toBe(1);
    events.emit('chat', { text: 'first' });
    events.emit('chat', { text: 'second' });
    await expect(p).resolves.toEqual({ text: 'first' });
    expect(events.listenerCount()).toBe(0);
  });

  it('clears its timer when resolved', async () => {
    const { events } = setup();
    const p = events.waitFor('price', { timeoutMs: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    events.emit('price', 5);
    await expect(p).resolves.toBe(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with TimeoutError after timeoutMs and cleans up', async () => {
    const { events } = setup();
    const p = events.waitFor('price', { timeoutMs: 1000 });
    const settled = vi.fn();
    p.catch(settled);
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(events.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with AbortError on abort and removes listener, timer and abort listener', async () => {
    const { events } = setup();
    const controller = new AbortController();
    const removeSpy = vi.spyOn(controller.signal, 'removeEventListener');
    const p = events.waitFor('price', { timeoutMs: 1000, signal: controller.signal });
    controller.abort('user left');
    await expect(p).rejects.toSatisfy((e) => e instanceof AbortError && e.cause === 'user left');
    expect(events.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(removeSpy).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('removes its abort listener when it resolves normally', async () => {
    const { events } = setup();
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const p = events.waitFor('price', { signal: controller.signal });
    events.emit('price', 1);
    await p;
    expect(remove).toHaveBeenCalledWith('abort', add.mock.calls[0]?.[1]);
  });

  it('rejects at once for an already aborted signal, registering nothing', async () => {
    const { events } = setup();
    const p = events.waitFor('price', { timeoutMs: 1000, signal: AbortSignal.abort() });
    expect(events.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });

  it.each([-1, Number.NaN, 2 ** 31])('rejects an invalid timeoutMs (%s)', async (timeoutMs) => {
    const { events } = setup();
    await expect(events.waitFor('price', { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(events.listenerCount()).toBe(0);
  });

  it('treats timeoutMs Infinity as no timeout', async () => {
    const { events } = setup();
    const p = events.waitFor('price', { timeoutMs: Infinity });
    expect(vi.getTimerCount()).toBe(0);
    events.end();
    await expect(p).rejects.toBeInstanceOf(ClosedError);
  });

  it('is not affected by off() / removeAllListeners(): it settles by itself', async () => {
    const { events } = setup();
    const p = events.waitFor('price');
    events.off('price');
    events.removeAllListeners();
    events.emit('price', 7);
    await expect(p).resolves.toBe(7);
  });
});

describe('stream', () => {
  it('yields payloads in order, including ones emitted before next() was called', async () => {
    const { events } = setup();
    const stream = events.stream('price');
    events.emit('price', 1);
    events.emit('price', 2);
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const p of stream) {
        seen.push(p);
        if (p === 3) break;
      }
    })();
    await Promise.resolve();
    events.emit('price', 3);
    await consumer;
    expect(seen).toEqual([1, 2, 3]);
    expect(events.listenerCount()).toBe(0);
  });

  it('return() ends it and removes its listener; later emits are ignored', async () => {
    const { events } = setup();
    const stream = events.stream('price');
    expect(events.listenerCount('price')).toBe(1);
    events.emit('price', 1);
    await expect(stream.return?.()).resolves.toEqual({ done: true, value: undefined });
    expect(events.listenerCount()).toBe(0);
    events.emit('price', 2);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('throw() removes the listener and rejects with the error', async () => {
    const { events } = setup();
    const stream = events.stream('price');
    const error = new Error('stop');
    await expect(stream.throw?.(error)).rejects.toBe(error);
    expect(events.listenerCount()).toBe(0);
  });

  it('a throwing for-await body removes the listener', async () => {
    const { events } = setup();
    const stream = events.stream('price');
    events.emit('price', 1);
    const run = async (): Promise<void> => {
      for await (const p of stream) throw new Error(`bad ${p}`);
    };
    await expect(run()).rejects.toThrow('bad 1');
    expect(events.listenerCount()).toBe(0);
  });

  it('abort resolves a pending next() with done and removes every listener', async () => {
    const { events } = setup();
    const controller = new AbortController();
    const removeSpy = vi.spyOn(controller.signal, 'removeEventListener');
    const stream = events.stream('price', { signal: controller.signal });
    const pending = stream.next();
    controller.abort();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(events.listenerCount()).toBe(0);
    expect(removeSpy).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('abort discards buffered payloads', async () => {
    const { events } = setup();
    const controller = new AbortController();
    const stream = events.stream('price', { signal: controller.signal });
    events.emit('price', 1);
    controller.abort();
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('an already aborted signal gives a finished stream with no listener', async () => {
    const { events } = setup();
    const stream = events.stream('price', { signal: AbortSignal.abort() });
    expect(events.listenerCount()).toBe(0);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('drops the oldest payloads beyond bufferSize and counts them', async () => {
    const { events } = setup();
    const stream = events.stream('price', { bufferSize: 3 });
    for (let i = 1; i <= 5; i++) events.emit('price', i);
    expect(stream.dropped).toBe(2);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await stream.next()).value as number);
    expect(seen).toEqual([3, 4, 5]);
    await stream.return?.();
  });

  it('buffers 1024 payloads by default', async () => {
    const { events } = setup();
    const stream = events.stream('price');
    for (let i = 0; i < 1030; i++) events.emit('price', i);
    expect(stream.dropped).toBe(6);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 6 });
    await stream.return?.();
  });

  it('serves concurrent next() calls in order', async () => {
    const { events } = setup();
    const stream = events.stream('price');
    const a = stream.next();
    const b = stream.next();
    events.emit('price', 1);
    events.emit('price', 2);
    await expect(Promise.all([a, b])).resolves.toEqual([
      { done: false, value: 1 },
      { done: false, value: 2 },
    ]);
    await stream.return?.();
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects bufferSize %s', (bufferSize) => {
    const { events } = setup();
    expect(() => events.stream('price', { bufferSize })).toThrow(InvalidArgumentError);
    expect(events.listenerCount()).toBe(0);
  });
});

describe('end()', () => {
  it('rejects pending waitFors with the given error and clears their timers', async () => {
    const { events } = setup();
    const error = new ClosedError('client was closed');
    const a = events.waitFor('price', { timeoutMs: 5000 });
    const b = events.waitFor('chat');
    events.end(error);
    await expect(a).rejects.toBe(error);
    await expect(b).rejects.toBe(error);
    expect(vi.getTimerCount()).toBe(0);
    expect(events.listenerCount()).toBe(0);
  });

  it('rejects with a ClosedError when no error is given', async () => {
    const { events } = setup();
    const p = events.waitFor('price');
    events.end();
    await expect(p).rejects.toBeInstanceOf(ClosedError);
  });

  it('finishes open streams after their buffered payloads and removes their abort listeners', async () => {
    const { events } = setup();
    const controller = new AbortController();
    const removeSpy = vi.spyOn(controller.signal, 'removeEventListener');
    const buffered = events.stream('price', { signal: controller.signal });
    const waiting = events.stream('chat');
    const pending = waiting.next();
    events.emit('price', 1);
    events.end();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    await expect(buffered.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(buffered.next()).resolves.toEqual({ done: true, value: undefined });
    expect(events.listenerCount()).toBe(0);
    expect(removeSpy).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('keeps on() handlers and leaves the emitter usable', async () => {
    const { events } = setup();
    const handler = vi.fn();
    events.on('price', handler);
    events.end();
    events.emit('price', 1);
    expect(handler).toHaveBeenCalledOnce();
    const p = events.waitFor('price');
    events.emit('price', 2);
    await expect(p).resolves.toBe(2);
  });

  it('end() then removeAllListeners() leaves nothing behind', () => {
    const { events } = setup();
    events.on('chat', vi.fn());
    void events.stream('price');
    events.waitFor('price', { timeoutMs: 100 }).catch(() => {});
    events.end();
    events.removeAllListeners();
    expect(events.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
