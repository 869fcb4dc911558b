import { describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { longpollTransport } from '../../src/transports/longpoll.js';

const make =
  (url: string, o: ClientOptions = {}) =>
  () =>
    new RealtimeClient(url, { autoConnect: false, lifecycle: false, rememberTransport: false, ...o }).close();

// `c` is long polling's connection id (PROTOCOL.md): an opening POST carrying one was taken for a
// request on an unknown id, 404 (4404), retried for ever. Refused at construction instead.
describe("long polling's reserved query parameter c", () => {
  it.each([
    ['ws://h.test/rt?c=general', {}],
    ['ws://h.test/rt?room=a&c', {}],
    ['ws://h.test/rt?c&room=a#x', { transports: [longpollTransport] }],
    ['ws://h.test/rt', { urls: { longpoll: 'http://h.test/poll?c=1' } }],
  ] as [string, ClientOptions][])('refuses %s %j with an InvalidArgumentError', (url, o) => {
    expect(make(url, o)).toThrow(InvalidArgumentError);
    expect(make(url, o)).toThrow(/query parameter c/);
  });

  it.each([
    ['ws://h.test/rt?cc=1&ac=2&c%3D=3#&c=4', {}],
    ['ws://h.test/rt?c=general', { transports: ['websocket', 'sockjs'] }],
    ['ws://h.test/rt?c=general', { urls: { longpoll: 'http://h.test/poll' } }],
    ['ws://h.test/rt?c=general', { protocol: 'raw' }],
  ] as [string, ClientOptions][])('takes %s %j, where no long-polling request carries it', (url, o) => {
    expect(make(url, o)).not.toThrow();
  });
});
