/**
 * The server forgets a long-polling id once a GET took its `close` frame, so a POST the client sent
 * before that GET's answer reached it would get 404. The two travel on different HTTP connections:
 * when the 404 came first (a retransmission on the GET's connection, a proxy that buffers), the
 * client took it for a lost id (4404), aborted the GET that held the real close frame and
 * reconnected: a final close (1000, 4401 ...) became a reconnect and a new session. The server now
 * answers such a POST 204 for a while (PROTOCOL.md, "Close").
 */
import { describe, expect, it } from 'vitest';
import { until, useHarness } from '../helpers/harness.js';

type ServerEvents = Record<string, never>;
type ClientEvents = { kick: null; more: null };

const { server, client } = useHarness<ServerEvents, ClientEvents>({ transports: ['longpoll'] });

describe('long polling: a POST that crosses the GET carrying the close frame', () => {
  it("does not turn the server's final close into a 404 (4404) and a reconnect", async () => {
    const s = await server();
    let ended = false;
    s.rt.on('connection', (session) => {
      session.on('kick', () => session.close(1000, 'bye'));
      session.on('end', () => (ended = true));
    });
    // The network: a GET answer carrying a close frame reaches the client after the next 404, if
    // one comes within 2 s (a retransmission on that connection), else after 2 s.
    let saw404: () => void = () => {};
    const a404 = new Promise<void>((resolve) => (saw404 = resolve));
    const network: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 404) setTimeout(saw404, 100); // the GET's packets come a little later
      const text = await res.text();
      if ((init?.method ?? 'GET') === 'GET' && text.includes('["c",'))
        await Promise.race([a404, new Promise((resolve) => setTimeout(resolve, 2000))]);
      // What fetch does with an answer whose request was aborted meanwhile.
      if (init?.signal?.aborted) throw new DOMException('This operation was aborted', 'AbortError');
      return new Response(res.status === 204 ? null : text, { status: res.status, headers: res.headers });
    };
    const c = client(`ws://127.0.0.1:${s.port}/realtime`, { fetch: network });
    await c.waitFor('open', { timeoutMs: 5000 });
    const closed = c.waitFor('close', { timeoutMs: 8000 });
    c.send('kick', null);
    await until(() => ended);
    c.send('more', null); // POSTed before the close frame reached the client
    await expect(closed).resolves.toEqual({ code: 1000, reason: 'bye', willReconnect: false });
  });
});
