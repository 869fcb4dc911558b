/**
 * The client's close() over SockJS: what it sent last (a message, then its close frame) reaches
 * the server, as over WebSocket and long polling. sockjs-client's XHR sub-transports post each send
 * in a request of its own, and its close() aborts the one in flight: closed at once, the client's
 * last message and its goodbye were lost, and the server kept the session for its resume grace
 * period (a 1006 `disconnect`, no `end`) instead of ending it with the client's 1000.
 */
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import { createSockJSTransport } from '../../src/transports/sockjs.js';
import { until, useHarness } from '../helpers/harness.js';

type ClientEvents = { n: { i: number } };

const { server, client } = useHarness<object, ClientEvents>({ transports: ['sockjs'], SockJS: SockJSClient });

describe.each(['websocket', 'xhr-streaming', 'xhr-polling'])('close() over SockJS (%s)', (sub) => {
  const only = { transports: [createSockJSTransport({ transports: [sub] })] };

  it('delivers the message sent just before, then ends the session with 1000', async () => {
    const s = await server();
    const seen: string[] = [];
    s.rt.on('connection', (session) => {
      session.on('n', ({ i }) => seen.push(`n ${i}`));
      session.on('disconnect', ({ code }) => seen.push(`disconnect ${code}`));
      session.on('end', ({ code }) => seen.push(`end ${code}`));
    });
    const c = client(s.url, only);
    await c.waitFor('open', { timeoutMs: 8000 });
    expect(c.send('n', { i: 1 })).toBe('sent');
    c.close();
    await until(() => seen.length >= 2, 3000).catch(() => {});
    expect(seen).toEqual(['n 1', 'end 1000']);
    expect(s.rt.sessions.size).toBe(0);
  });
});

describe.each(['xhr-streaming', 'xhr-polling'])('close() over SockJS (%s) during the handshake', (sub) => {
  it('ends the session the hello made: the goodbye after it arrives too', async () => {
    let asked = 0;
    let answer: (ok: boolean) => void = () => {};
    const s = await server({ authenticate: () => (asked++, new Promise<boolean>((resolve) => (answer = resolve))) });
    const ends: number[] = [];
    s.rt.on('connection', (session) => session.on('end', ({ code }) => ends.push(code)));
    const c = client(s.url, { transports: [createSockJSTransport({ transports: [sub] })] });
    await until(() => asked === 1); // the hello is in, its welcome waits for authenticate
    c.close();
    answer(true);
    await until(() => ends.length > 0, 3000).catch(() => {});
    expect(ends).toEqual([1000]);
    expect(s.rt.sessions.size).toBe(0);
  });
});
