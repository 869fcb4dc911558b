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

  it('listenerCount totals all events; off() of each brings it back to 0', () => {
    const { events } = setup();
    events.on('chat', vi.fn());
    events.once('price', vi.fn());
    events.on('price', vi.fn());
    expect(events.listenerCount()).toBe(3);
    expect(events.listenerCount('price')).toBe(2);
    events.off('chat');
    events.off('price');
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
    events.end(new ClosedError('ended'));
    await expect(p).rejects.toBeInstanceOf(ClosedError);
  });

  it('is not affected by off(): it settles by itself', async () => {
    const { events } = setup();
    const p = events.waitFor('price');
    events.off('price');
    events.emit('price', 7);
    await expect(p).resolves.toBe(7);
  });
});

describe('idle', () => {
  it('holds nothing once every listener is gone and nothing waits', async () => {
    const { events } = setup();
    expect(events.idle).toBe(true);
    const off = events.on('price', vi.fn());
    const waiting = events.waitFor('chat');
    expect(events.idle).toBe(false);
    off();
    expect(events.idle).toBe(false);
    events.emit('chat', { text: 'x' });
    await waiting;
    expect(events.idle).toBe(true);
    const stream = events.stream('price');
    expect(events.idle).toBe(false);
    await stream.return?.();
    expect(events.idle).toBe(true);
  });
});
