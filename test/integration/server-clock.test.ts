/**
 * The server's `clock` option: every server timer and timestamp runs on it. The heartbeat, the
 * request rate and the long-poll timeout are held to it in their own tests (server-heartbeat,
 * server-limits, longpoll, test/faults/blackhole); here are the handshake timeout, the session
 * grace period and the wait of `close()` for connections that do not finish closing.
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/close-codes.js';
import type { EndInfo, ServerSession } from '../../src/server/index.js';
import { resolveOptions } from '../../src/server/options.js';
import { systemClock } from '../../src/util/clock.js';
import { settle } from '../helpers/clock-steps.js';
import { ManualClock, flushMicrotasks } from '../helpers/manual-clock.js';
import { Fixture, deferred, until } from '../helpers/raw-client.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('server clock option', () => {
  it('defaults to the system clock and keeps the one given', () => {
    expect(resolveOptions({ server: createServer() }).clock).toBe(systemClock);
    const clock = new ManualClock();
    expect(resolveOptions({ server: createServer(), clock }).clock).toBe(clock);
  });

  it('times the handshake on it: 4008 after handshakeTimeoutMs of it, not before', async () => {
    const clock = new ManualClock();
    const { url } = await fx.server({ clock, handshakeTimeoutMs: 60_000 });
    const client = await fx.client(url); // connected, never says hello
    clock.advance(59_999);
    await settle(100);
    expect(client.isOpen).toBe(true);
    clock.advance(1);
    expect((await client.waitClosed()).code).toBe(CloseCode.HandshakeTimeout);
  });

  it('times the session grace period on it: the session ends after sessionGraceMs of it, not before', async () => {
    const clock = new ManualClock();
    const { rt, url } = await fx.server({ clock, sessionGraceMs: 60_000 });
    const connected = deferred<ServerSession>();
    rt.on('connection', connected.resolve);
    const { client } = await fx.connected(url);
    const session = await connected.promise;
    const ended: EndInfo[] = [];
    session.on('end', (info) => ended.push(info));
    client.terminate();
    await until(() => !session.connected);
    clock.advance(59_999);
    expect(ended).toEqual([]);
    expect(rt.sessions.has(session.id)).toBe(true);
    clock.advance(1);
    await until(() => ended.length > 0);
    expect(rt.sessions.has(session.id)).toBe(false);
  });

  it("times close()'s wait for connections that do not finish closing on it", async () => {
    const clock = new ManualClock();
    const { rt, url } = await fx.server({ clock });
    const poll = `${url.replace(/^ws/, 'http')}/poll`;
    // A long-polling client that makes no GET never collects its close frame: close() waits for it.
    const { c: id } = (await (await fetch(poll, { method: 'POST' })).json()) as { c: string };
    const hello = await fetch(`${poll}?c=${id}`, { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    expect(hello.status).toBe(204);
    await until(() => rt.sessions.size === 1);
    let closed = false;
    const closing = rt.close().then(() => (closed = true));
    clock.advance(1999);
    await settle(100);
    expect(closed).toBe(false);
    clock.advance(1); // the connection is terminated after 2 s of the clock
    await flushMicrotasks(); // no real time: the system clock's 2 s would not have passed
    expect(closed).toBe(true);
    await closing;
  });
});
