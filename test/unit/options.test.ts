import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/client/options.js';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { resolveTransports } from '../../src/transports/registry.js';

describe('client options', () => {
  it('applies the documented defaults', () => {
    const o = resolveOptions();
    expect(o.transports).toEqual(['websocket', 'sockjs', 'longpoll']);
    expect(o.heartbeat).toEqual({ intervalMs: 20_000, timeoutMs: 10_000, message: '' });
    expect(o.connectTimeoutMs).toBe(3500);
    expect(o.queue).toMatchObject({ maxMessages: 1000, maxBytes: 1 << 20, overflow: 'drop-oldest', ttlMs: undefined });
    expect(o.upgrade).toEqual({ initialDelayMs: 10_000, maxDelayMs: 300_000 });
    expect(o.rememberTransport).toMatchObject({ ttlMs: 86_400_000 });
  });

  it.each([
    [{ heartbeat: { intervalMs: 0 } }],
    [{ heartbeat: { intervalMs: 2 ** 31 } }],
    [{ connectTimeoutMs: -1 }],
    [{ connectTimeoutMs: Number.NaN }],
    [{ queue: { maxMessages: -5 } }],
    [{ queue: { overflow: 'sometimes' as 'error' } }],
    [{ protocol: 'mqtt' as 'raw' }],
    [{ transports: [] }],
    [{ auth: 42 as unknown as string }],
  ])('refuses %j with an InvalidArgumentError', (bad) => {
    expect(() => resolveOptions(bad)).toThrow(InvalidArgumentError);
  });

  // Before, a number, `true` or a string where an object goes silently gave the defaults (`queue: null` a TypeError).
  it.each([
    ['heartbeat', 5],
    ['heartbeat', true],
    ['heartbeat', null],
    ['reconnect', 5],
    ['upgrade', '10000'],
    ['rememberTransport', 86_400_000],
    ['queue', 5],
    ['queue', null],
    ['urls', 'wss://example.com/realtime'],
    ['clock', 5],
    ['logger', 'console'],
  ])('refuses options.%s = %j where an object goes', (key, value) => {
    expect(() => resolveOptions({ [key]: value })).toThrow(
      new InvalidArgumentError(`options.${key} must be an object`),
    );
  });

  it.each(['websocket', 5, true])('refuses options.transports = %j as a list it needs', (value) => {
    expect(() => resolveOptions({ transports: value as never })).toThrow(
      new InvalidArgumentError('options.transports must list at least one transport'),
    );
  });

  // Before, a misspelt transport (longPoll) was silently ignored, and a value that is no URL was handed to the transport as is.
  it.each([
    [{ longPoll: 'https://example.com/poll' }, 'options.urls must be one of websocket, sockjs, longpoll, got longPoll'],
    [{ websocket: 5 }, 'options.urls.websocket must be a ws:, wss:, http: or https: URL, got 5'],
    [
      { sockjs: 'ftp://example.com/sockjs' },
      'options.urls.sockjs must be a ws:, wss:, http: or https: URL, got ftp://example.com/sockjs',
    ],
    [{ longpoll: '' }, 'options.urls.longpoll must be a ws:, wss:, http: or https: URL, got '],
  ])('refuses urls %j', (urls, message) => {
    expect(() => resolveOptions({ urls: urls as never })).toThrow(new InvalidArgumentError(message));
  });

  it('takes urls of each transport', () => {
    const urls = {
      websocket: 'wss://a.example/ws',
      sockjs: 'https://b.example/sockjs',
      longpoll: 'http://c.example/poll',
    };
    expect(resolveOptions({ urls }).urls).toBe(urls);
  });

  it.each(['nope', 'toString', '__proto__', 'hasOwnProperty'])(
    'refuses the transport name %j: only the built-in names, none of an object prototype',
    (name) => {
      expect(() => resolveTransports([name as 'websocket'])).toThrow(
        new InvalidArgumentError(`unknown transport '${name}'`),
      );
    },
  );

  // Before, accepted: [null] then failed the attempt with a TypeError (an unhandled rejection), and
  // an object without isSupported/connect failed every attempt, retried for ever.
  it.each([
    [null, 'isSupported'],
    [5, 'isSupported'],
    [{}, 'isSupported'],
    [{ name: 'websocket', isSupported: () => true }, 'connect'],
  ])('refuses the transport %j: neither a built-in name nor a factory', (entry, method) => {
    expect(() => resolveTransports([entry as never])).toThrow(
      new InvalidArgumentError(`a transport factory needs ${method}()`),
    );
  });

  // Before, accepted: the missing method threw inside, went to the logger (silent by default), and
  // the session was silently kept in memory only, so a reload lost it.
  it.each([
    [5, 'load'],
    [{}, 'load'],
    [{ load: () => undefined, save: () => undefined }, 'remove'],
  ])('refuses queue.storage %j without load, save and remove', (storage, method) => {
    expect(() => resolveOptions({ queue: { storage: storage as never } })).toThrow(
      new InvalidArgumentError(`options.queue.storage needs ${method}()`),
    );
  });

  // Before, accepted: the first drop then closed the client for good ('reconnect.policy threw').
  it('refuses a reconnect.policy that is not a function', () => {
    expect(() => resolveOptions({ reconnect: { policy: 5 as never } })).toThrow(
      new InvalidArgumentError('options.reconnect needs policy()'),
    );
  });

  it('holds only what was set: the defaults are shared, and clients configured alike share one object', () => {
    const fake = { now: () => 0, setTimeout: () => 0, clearTimeout() {} };
    const a = resolveOptions({ transports: ['websocket'], lifecycle: false, clock: fake });
    const b = resolveOptions({ transports: ['websocket'], lifecycle: false, clock: fake });
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.keys(a).sort()).toEqual(['clock', 'lifecycle', 'transports']);
    expect(a.heartbeat).toBe(resolveOptions().heartbeat);
    expect(resolveOptions({ transports: ['websocket'], lifecycle: false })).not.toBe(a);
    expect(resolveOptions({ transports: ['sockjs'], lifecycle: false, clock: fake })).not.toBe(a);
  });
});
