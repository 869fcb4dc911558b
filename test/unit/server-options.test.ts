import type { Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { resolveOptions } from '../../src/server/options.js';
import type { RealtimeServerOptions } from '../../src/server/options.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** resolveOptions only checks that `server` has `on`: nothing is attached here. */
const server = { on: () => server } as unknown as Server;
const resolve = (options: Omit<RealtimeServerOptions, 'server'>) => resolveOptions({ ...options, server });

describe('server options that take an object', () => {
  // Each was read as the defaults, without a word: `heartbeat: 5` meant 20 s, `requestRateLimit:
  // true` 100 a second, `logger: 'console'` silence, and `clock: Date` a TypeError on the first timer.
  it.each([
    ['heartbeat', 5],
    ['heartbeat', true],
    ['heartbeat', 'fast'],
    ['heartbeat', [10_000]],
    ['heartbeat', () => ({ intervalMs: 1 })],
    ['requestRateLimit', true],
    ['requestRateLimit', 100],
    ['requestRateLimit', 'off'],
    ['longPoll', 'yes'],
    ['longPoll', true],
    ['logger', 'console'],
    ['logger', true],
    // An object without the methods the server calls was silence: each call threw, caught inside.
    ['logger', {}],
    ['logger', { info: () => undefined, error: () => undefined }],
    ['clock', 5],
    ['clock', { now: () => 0 }],
  ])('refuses %s: %j, naming the option', (name, value) => {
    const call = () => resolve({ [name]: value } as Omit<RealtimeServerOptions, 'server'>);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(`createRealtimeServer: ${name} must be`);
  });

  it('takes objects, the documented false, and null or undefined as the defaults', () => {
    const clock = new ManualClock();
    const o = resolve({
      heartbeat: { intervalMs: 5000 },
      requestRateLimit: { burst: 10 },
      longPoll: {},
      logger: console,
      clock,
    });
    expect(o.heartbeat).toEqual({ intervalMs: 5000, timeoutMs: 10_000 });
    expect(o.requestRateLimit).toEqual({ perSecond: 100, burst: 10 });
    expect(o.longPoll).toEqual({ pollTimeoutMs: 25_000, maxBodyBytes: 1 << 20 });
    expect(o.clock).toBe(clock);
    expect(resolve({ requestRateLimit: false }).requestRateLimit).toBe(false);
    const nulls = { heartbeat: null, requestRateLimit: null, longPoll: null, logger: null, clock: null };
    const d = resolve(nulls as unknown as Omit<RealtimeServerOptions, 'server'>);
    expect(d.heartbeat).toEqual({ intervalMs: 20_000, timeoutMs: 10_000 });
    expect(d.requestRateLimit).toEqual({ perSecond: 100, burst: 200 });
    expect(d.longPoll.pollTimeoutMs).toBe(25_000);
  });
});

describe('server frame and body limits too small for a hello', () => {
  // Accepted, they refused every client with 4413 at connect: a hello with a resume token is about
  // 80 bytes before its auth token.
  it.each([
    [{ maxFrameBytes: 1 }, 'maxFrameBytes'],
    [{ maxFrameBytes: 10 }, 'maxFrameBytes'],
    [{ maxFrameBytes: 1023 }, 'maxFrameBytes'],
    [{ longPoll: { maxBodyBytes: 2 } }, 'longPoll.maxBodyBytes'],
    [{ longPoll: { maxBodyBytes: 1023 } }, 'longPoll.maxBodyBytes'],
  ])('refuses %j, naming the option and its minimum', (options, name) => {
    const call = () => resolve(options);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(`createRealtimeServer: ${name} must be an integer of at least 1024`);
  });

  it('takes 1024 for both', () => {
    const o = resolve({ maxFrameBytes: 1024, longPoll: { maxBodyBytes: 1024 } });
    expect([o.maxFrameBytes, o.longPoll.maxBodyBytes]).toEqual([1024, 1024]);
  });
});
