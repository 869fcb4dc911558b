/**
 * sockjs-client gathers every message sent while its previous send request is in flight (or in
 * the 25 ms after it) into one body, with no bound. The reference server refuses a send body over
 * its bound (413), which sockjs-client reports as a lost session: the client resumes and re-sends
 * what was not acknowledged, all at once again, so a burst over the bound never gets through.
 * At 16 MiB that was twenty 900 kB messages, each well within maxFrameBytes; the bound is 64 MiB.
 */
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import { createSockJSTransport } from '../../src/transports/sockjs.js';
import type { SockJSConstructor } from '../../src/transports/transport.js';
import { until, useHarness } from '../helpers/harness.js';

type ClientEvents = { blob: string };

const SockJS: SockJSConstructor = SockJSClient;
const { server, client } = useHarness<Record<string, never>, ClientEvents>({ SockJS });

describe('SockJS: a burst of large messages over an XHR sub-transport', () => {
  it('gets through (18 MB sent while one send request is in flight)', async () => {
    const s = await server(); // maxFrameBytes 1 MiB: each message is well within it
    let received = 0;
    s.rt.on('connection', (session) => session.on('blob', () => void received++));
    const c = client(s.url, { transports: [createSockJSTransport({ transports: ['xhr-polling'] })] });
    let drops = 0;
    const codes: number[] = [];
    c.on('close', ({ code }) => void (drops++, codes.push(code)));
    await c.waitFor('open', { timeoutMs: 8000 });
    const blob = 'a'.repeat(900_000);
    for (let i = 0; i < 20; i++) expect(c.send('blob', blob)).toBe('sent');
    await until(() => received >= 20 || drops >= 3, 15_000);
    expect({ received, codes }).toEqual({ received: 20, codes: [] });
  });
});
