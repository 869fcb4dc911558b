import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../../src/client/events.js';
import { ClosedError, InvalidArgumentError } from '../../src/errors/index.js';
import { systemClock } from '../../src/util/clock.js';

function setup() {
  const events = new TypedEmitter<{ price: number; chat: { text: string } }>({
    clock: systemClock,
    onHandlerError: vi.fn(),
  });
  return { events };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
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
    events.end(new ClosedError('ended'));
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
    events.end(new ClosedError('ended'));
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
    events.end(new ClosedError('ended'));
    events.emit('price', 1);
    expect(handler).toHaveBeenCalledOnce();
    const p = events.waitFor('price');
    events.emit('price', 2);
    await expect(p).resolves.toBe(2);
  });

  it('end() then off() leaves nothing behind', () => {
    const { events } = setup();
    events.on('chat', vi.fn());
    void events.stream('price');
    events.waitFor('price', { timeoutMs: 100 }).catch(() => {});
    events.end(new ClosedError('ended'));
    events.off('chat');
    expect(events.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
