/**
 * close() while long polling's opening POST is on its way back: the server has made the connection
 * id, and with it a place among the handshakes under way (`maxHandshakes`). The client aborted the
 * request and never learned the id, so the server kept both until its handshake timeout and the
 * wait for that refusal's close frame (10 s each by default), and `rt.close()` waited for it too.
 * A WebSocket closed during its upgrade gives its place back at once. The client now lets the
 * answer come (within CLOSE_WAIT_MS) and DELETEs the id.
 */
import { describe, expect, it } from 'vitest';
import { until, useHarness } from '../helpers/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const { server, client, defer } = useHarness({ transports: ['longpoll'] });

describe('long polling: close() before the opening answer arrived', () => {
  it('ends the id the server made, so its handshake place is free again', async () => {
    const s = await server({ maxHandshakes: 1 });
    let opened = 0;
    s.http.prependListener('request', (req) => (opened += req.method === 'POST' && !req.url?.includes('c=') ? 1 : 0));
    const proxy = await TcpProxy.start(s.port);
    defer(() => proxy.close());
    proxy.delayMs = 100; // the answer takes a while to come back
    const a = client(s.url.replace(`:${s.port}`, `:${proxy.port}`));
    await until(() => opened === 1);
    a.close();
    const b = client(s.url); // refused (4429) and retried while a's id holds the only place
    await expect(b.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: 'longpoll', resumed: false });
    expect(s.rt.sessions.size).toBe(1);
  });
});
