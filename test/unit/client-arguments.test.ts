import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { useFakeClientFixture } from '../helpers/fake-transport.js';

const f = useFakeClientFixture();

describe('RealtimeClient method arguments', () => {
  // Not an AbortSignal: a TypeError from deep inside, after the listener or the request timer was
  // registered; the leftover then made close() throw (waitFor, stream) or its timer throw (request).
  it.each([5, {}, { aborted: false }])(
    'refuses the signal %j at the call, and nothing is left behind',
    async (signal) => {
      const c = await f.connected();
      const bad = { signal: signal as AbortSignal };
      await expect(c.waitFor('chat', bad)).rejects.toThrow(InvalidArgumentError);
      expect(() => c.stream('chat', bad)).toThrow(InvalidArgumentError);
      await expect(c.request('chat', 1, bad)).rejects.toThrow(InvalidArgumentError);
      await vi.advanceTimersByTimeAsync(60_000); // a request's timer, had one been left
      expect(() => c.close()).not.toThrow();
    },
  );

  // Before, it was subscribed: each payload then threw inside, went to the (silent by default) logger, and the app's code never ran.
  it.each([undefined, 5, 'render'])('refuses the handler %j of on() and once()', (handler) => {
    const c = f.make({ autoConnect: false });
    expect(() => c.on('chat', handler as never)).toThrow(InvalidArgumentError);
    expect(() => c.once('chat', handler as never)).toThrow(InvalidArgumentError);
  });
});
