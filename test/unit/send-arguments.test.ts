/**
 * `send()` and `request()` refuse data JSON has no value for, as README says ("data JSON cannot
 * encode"): a function or a symbol is not sent as an event without data.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);
let fake: FakeTransport;
let clients: RealtimeClient[];

useFakeClients(
  () => {
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

async function connected(): Promise<RealtimeClient> {
  const c = new RealtimeClient('ws://test.invalid/realtime', {
    transports: [fake],
    lifecycle: false,
    rememberTransport: false,
  });
  clients.push(c);
  await settle();
  fake.last.accept();
  await settle();
  return c;
}

describe('data JSON has no value for', () => {
  it.each([
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('send() and request() refuse %s with an InvalidArgumentError, sending nothing', async (_, data) => {
    const c = await connected();
    expect(() => c.send('chat', data)).toThrow(InvalidArgumentError);
    await expect(c.request('join', data)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(fake.last.frames.filter((f) => f.type === 'event' || f.type === 'request')).toEqual([]);
    expect(c.close()).toEqual([]);
  });
});
