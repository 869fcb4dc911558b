/**
 * What an idle session keeps on the server, counted in objects (`v8.queryObjects`, which collects
 * garbage first), not in bytes or time. Each of these was once kept for as long as the session
 * stayed connected: the race with `authenticate` (3 promises and their closures, 600 B), the
 * WebSocket upgrade request and its headers (1 kB), and on SockJS the last message sent (a
 * 10 kB broadcast stayed in every session until it sent something else).
 */
import { IncomingMessage } from 'node:http';
import { queryObjects, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../../src/protocol/codec.js';
import { SockJSBacklog } from '../../src/server/endpoints/sockjs-session.js';
import { until, useHarness } from '../helpers/harness.js';

const { server, defer } = useHarness();

/** Sessions opened: enough that one object each stands out from the test's own. */
const N = 100;

const promises = (): number => queryObjects(Promise, { format: 'count' });
const requests = (): number => queryObjects(IncomingMessage, { format: 'count' });

/**
 * A WebSocket session that said hello and got its welcome. Hand-made rather than a raw peer: the
 * peer keeps promises of its own (its `open` wait), which would be counted as the server's.
 */
function welcomed(url: string): Promise<void> {
  const ws = new WebSocket(url);
  defer(() => ws.terminate());
  ws.on('error', () => {});
  ws.once('open', () => ws.send(encodeFrame({ type: 'hello', v: 1, ack: 0 })));
  return new Promise((resolve) => ws.once('message', () => resolve())); // the welcome
}

describe('an idle session keeps no handshake leftovers', () => {
  it('no promise per session, nor its upgrade request', async () => {
    const s = await server();
    await welcomed(s.url); // the first use of each path, not counted
    const before = { promises: promises(), requests: requests() };
    for (let i = 0; i < N; i++) await welcomed(s.url);
    await until(() => s.rt.sessions.size === N + 1);
    expect((promises() - before.promises) / N).toBeLessThan(0.5); // was 3
    expect((requests() - before.requests) / N).toBeLessThan(0.5); // was 1
  });
});

/** What sockjs does on a flush: a new array in place, the old one handed to the receiver, which lets it go. */
function flush(session: { send_buffer: string[] }): WeakRef<string[]> {
  const flushed = session.send_buffer;
  session.send_buffer = [];
  return new WeakRef(flushed);
}

describe('SockJSBacklog', () => {
  it('lets go of the send buffer sockjs flushed (it holds what was sent)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // The shape sockjs 0.3 gives a connection: `_session.send_buffer`, swapped for a new array on each flush.
    const session = { send_buffer: [] as string[], recv: null };
    const backlog = new SockJSBacklog({ _session: session });
    expect(backlog.size).toBe(0);
    const text = 'x'.repeat(10_000);
    session.send_buffer.push(text); // conn.write: queued, then flushed to the receiver at once
    const ref = flush(session);
    backlog.wrote(text);
    await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef holds its target until the job ends
    gc();
    expect(ref.deref()).toBeUndefined();
    expect(backlog.size).toBe(0);
    session.send_buffer.push('abc'); // no receiver: it waits in the buffer, and is counted
    backlog.wrote('abc');
    expect(backlog.size).toBe(3);
  });
});
