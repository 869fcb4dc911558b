/**
 * Batches on the client (PROTOCOL.md, "Batches"): what it sends when the server's welcome says it
 * takes batches (and only then), and how it reads the batches a server sends.
 */
import { describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { ProtocolError } from '../../src/errors/index.js';
import { FakeTransport, useFakeClients } from '../helpers/fake-transport.js';

const settle = () => vi.advanceTimersByTimeAsync(0);

let fake: FakeTransport;
let clients: RealtimeClient[];

async function connected(b: number | undefined, options: ClientOptions = {}): Promise<RealtimeClient> {
  const c = new RealtimeClient('ws://test.invalid/realtime', { transports: [fake], lifecycle: false, ...options });
  clients.push(c);
  await settle();
  fake.last.accept(b === undefined ? {} : { b });
  await settle();
  return c;
}

/** What the client wrote after its hello, one entry per transport message. */
const written = (): string[] => fake.last.sent.slice(1);

useFakeClients(
  () => {
    fake = new FakeTransport();
    clients = [];
  },
  () => clients,
);

describe('client batches', () => {
  it('announces in hello that it takes batches as large as any message it accepts', async () => {
    await connected(undefined);
    expect(fake.last.frames[0]).toMatchObject({ type: 'hello', b: 1 << 20 });
  });

  it('sends one frame per message to a server whose welcome has no b', async () => {
    const c = await connected(undefined);
    c.send('m', 1);
    c.send('m', 2);
    c.send('m', 3);
    await settle();
    expect(written()).toEqual(['["e",1,"m",1]', '["e",2,"m",2]', '["e",3,"m",3]']);
  });

  it('sends the first frame of a tick at once and the rest of the tick as one batch', async () => {
    const c = await connected(1 << 20);
    c.send('m', 1);
    expect(written()).toEqual(['["e",1,"m",1]']);
    c.send('m', 2);
    c.send('m', 3);
    expect(written()).toHaveLength(1);
    await settle();
    expect(written()).toEqual(['["e",1,"m",1]', '[["e",2,"m",2],["e",3,"m",3]]']);
    c.send('m', 4);
    expect(written().at(-1)).toBe('["e",4,"m",4]');
  });

  it('sends a reply at once: the first frame after the server spoke goes at once, in any tick', async () => {
    const c = await connected(1 << 20);
    c.on('ping-me', (n) => c.send('m', n));
    for (let seq = 1; seq <= 3; seq++) {
      fake.last.push(`["e",${seq},"ping-me",${seq}]`);
      expect(written().at(-1)).toBe(`["e",${seq},"m",${seq}]`);
    }
    // Silent server: a frame after one sent at once in an earlier tick waits for the end of its tick, with those after it.
    await settle();
    c.send('m', 4);
    c.send('m', 5);
    expect(written().at(-1)).toBe('["e",3,"m",3]');
    await settle();
    expect(written().at(-1)).toBe('[["e",4,"m",4],["e",5,"m",5]]');
  });

  it("keeps each batch within the server's limit (b bytes: b / 3 code units)", async () => {
    const c = await connected(120); // 40 units: two frames of 15 and their brackets fit, three do not
    for (let i = 1; i <= 6; i++) c.send('m', i);
    await settle();
    expect(written()).toEqual([
      '["e",1,"m",1]',
      '[["e",2,"m",2],["e",3,"m",3]]',
      '[["e",4,"m",4],["e",5,"m",5]]',
      '["e",6,"m",6]',
    ]);
    expect(fake.last.frames.slice(1).map((f) => (f.type === 'event' ? f.seq : 0))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('sends what a tick batched, and then its close frame as the last one, on close()', async () => {
    const c = await connected(1 << 20);
    c.send('m', 1);
    c.send('m', 2);
    c.send('m', 3);
    c.close();
    expect(written()).toEqual(['["e",1,"m",1]', '[["e",2,"m",2],["e",3,"m",3],["c",1000,"client closed"]]']);
    expect(fake.last.closedWith?.code).toBe(1000);
    await settle();
    expect(written()).toHaveLength(2);
  });

  it('sends plain messages in raw mode', async () => {
    const c = new RealtimeClient('ws://test.invalid/realtime', {
      transports: [fake],
      lifecycle: false,
      protocol: 'raw',
    });
    clients.push(c);
    await settle();
    fake.last.open();
    await settle();
    c.send('one');
    c.send('two');
    await settle();
    expect(fake.last.sent).toEqual(['one', 'two']);
  });

  it("delivers a server's batch in order and acknowledges it like single frames", async () => {
    const c = await connected(1 << 20);
    const got: unknown[] = [];
    c.on('chat', (data) => got.push(data));
    fake.last.push('[["e",1,"chat","a"],["e",2,"chat","b"],["e",1,"chat","dup"],["e",3,"chat","c"]]');
    expect(got).toEqual(['a', 'b', 'c']);
    await vi.advanceTimersByTimeAsync(50);
    expect(fake.last.framesOf('ack').at(-1)).toEqual({ type: 'ack', ack: 3 });
  });

  it('refuses a batch with a bad frame as a whole: nothing of it is delivered (4400)', async () => {
    const c = await connected(1 << 20);
    const got: unknown[] = [];
    const errors: unknown[] = [];
    c.on('chat', (data) => got.push(data));
    c.on('error', (e) => errors.push(e));
    fake.last.push('[["e",1,"chat","a"],["e",3]]');
    expect(got).toEqual([]);
    expect(errors[0]).toBeInstanceOf(ProtocolError);
    expect(fake.last.closedWith?.code).toBe(4400);
  });

  it('reads nothing after a close frame in a batch', async () => {
    const c = await connected(1 << 20, { reconnect: false });
    const got: unknown[] = [];
    c.on('chat', (data) => got.push(data));
    fake.last.push('[["e",1,"chat","a"],["c",4401,"gone"],["e",2,"chat","b"]]');
    expect(got).toEqual(['a']);
    expect(c.state).toBe('closed');
  });

  it('stops reading a batch when a handler closes the client, and leaves no timer behind', async () => {
    const c = await connected(1 << 20);
    const got: unknown[] = [];
    c.on('chat', (data) => {
      got.push(data);
      c.close();
    });
    fake.last.push('[["e",1,"chat","a"],["e",2,"chat","b"]]');
    expect(got).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
