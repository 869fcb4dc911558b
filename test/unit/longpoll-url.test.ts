import { describe, expect, it, vi } from 'vitest';
import { longpollTransport } from '../../src/transports/longpoll.js';
import type { TransportContext } from '../../src/transports/transport.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { FakeFetch, settle } from '../helpers/fake-fetch.js';

function connect(url: string) {
  const fetch = new FakeFetch();
  const ctx: TransportContext = { clock: systemClock, logger: silentLogger, fetch: fetch.fn };
  const handlers = { onOpen: vi.fn(), onMessage: vi.fn(), onClose: vi.fn() };
  const transport = longpollTransport.connect(url, handlers, ctx);
  return { fetch, transport, handlers };
}

describe('long-polling URLs', () => {
  it("keeps the application's query as it was written on every request of the connection, only adding c", async () => {
    // A signed query, or a proxy routing on the raw query (nginx's $arg_room), must see the same
    // text on the GETs, POSTs and DELETE as on the opening POST.
    const url = 'http://h.test/rt/poll?room=a%20b&flag&t=1;x=2&sig=~AB';
    const s = connect(url);
    expect(s.fetch.one('POST', false).url).toBe(url);
    s.fetch.one('POST', false).respond(200, '{"c":"id-1"}');
    await settle();
    s.transport.send('["e",1,"x"]');
    const expected = `${url}&c=id-1`;
    expect(s.fetch.one('GET').url).toBe(expected);
    expect(s.fetch.one('POST').url).toBe(expected);
    s.transport.close(4000, 'heartbeat timeout');
    await settle();
    expect(s.fetch.one('DELETE').url).toBe(expected);
  });

  it('resolves a relative endpoint (an explicit urls.longpoll) against the page, as the main URL is', async () => {
    const page = (globalThis as { location?: { href: string } }).location?.href;
    expect(page).toBeDefined(); // jsdom
    const s = connect('/rt/poll?room=a');
    await settle();
    expect(s.handlers.onClose).not.toHaveBeenCalled();
    expect(s.fetch.one('POST', false).url).toBe(new URL('/rt/poll?room=a', page).href);
  });

  it('sends credentials in the URL as Basic auth on every request, never in the URL fetch would refuse', async () => {
    // fetch throws a TypeError for a URL with credentials (undici and browsers); a browser sends a
    // WebSocket URL's as `Authorization: Basic`, their percent-encoding decoded to bytes.
    const s = connect('http://us%C3%A9r:p%40ss:w@h.test/rt/poll?room=a');
    const basic = `Basic ${Buffer.from('us\u00e9r:p@ss:w', 'utf8').toString('base64')}`;
    const open = s.fetch.one('POST', false);
    expect(open.url).toBe('http://h.test/rt/poll?room=a');
    expect(open.init.headers).toEqual({ authorization: basic });
    open.respond(200, '{"c":"id-1"}');
    await settle();
    s.transport.send('["e",1,"x"]');
    for (const m of ['GET', 'POST']) {
      expect(s.fetch.one(m).url).toBe('http://h.test/rt/poll?room=a&c=id-1');
      expect(s.fetch.one(m).init.headers).toEqual({ authorization: basic });
    }
    s.transport.close(4000, 'heartbeat timeout');
    await settle();
    expect(s.fetch.one('DELETE').init.headers).toEqual({ authorization: basic });
    // Without credentials, no header: GET and POST stay CORS simple requests.
    expect(connect('http://h.test/rt/poll').fetch.one('POST', false).init.headers).toBeUndefined();
  });
});
