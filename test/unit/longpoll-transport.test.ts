import { describe, expect, it, vi } from 'vitest';
import { TransportError } from '../../src/errors/transport.js';
import { longpollTransport } from '../../src/transports/longpoll.js';
import { MAX_BATCH_CHARS, takeBatch } from '../../src/transports/longpoll-wire.js';
import { CLOSE_WAIT_MS } from '../../src/protocol/limits.js';
import type { CloseInfo, Transport, TransportContext } from '../../src/transports/transport.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { FakeFetch, settle } from '../helpers/fake-fetch.js';

const URL_ = 'http://h.test/realtime/poll?room=a';

function setup() {
  const fetch = new FakeFetch();
  const ctx: TransportContext = { clock: systemClock, logger: silentLogger, fetch: fetch.fn };
  const log: string[] = [];
  const closes: CloseInfo[] = [];
  const handlers = {
    onOpen: vi.fn(() => log.push('open')),
    onMessage: vi.fn((text: string) => log.push(text)),
    onClose: vi.fn((info: CloseInfo) => closes.push(info)),
  };
  const transport: Transport = longpollTransport.connect(URL_, handlers, ctx);
  return { fetch, transport, handlers, log, closes, ctx };
}

/** Connected: the open POST answered, the first GET pending. */
async function opened(id = 'conn-1', maxBodyBytes?: number) {
  const s = setup();
  s.fetch
    .one('POST', false)
    .respond(200, JSON.stringify({ c: id, ...(maxBodyBytes === undefined ? {} : { b: maxBodyBytes }) }));
  await settle();
  expect(s.handlers.onOpen).toHaveBeenCalledTimes(1);
  return s;
}

describe('long-polling transport (scripted fetch)', () => {
  it('is supported only with fetch and AbortController', () => {
    const fetch = new FakeFetch();
    expect(longpollTransport.isSupported({ clock: systemClock, logger: silentLogger, fetch: fetch.fn })).toBe(true);
    const saved = globalThis.fetch;
    try {
      Reflect.deleteProperty(globalThis, 'fetch');
      expect(longpollTransport.isSupported({ clock: systemClock, logger: silentLogger })).toMatch(/no fetch/);
    } finally {
      globalThis.fetch = saved;
    }
  });

  it('opens with a POST without id, then announces open and keeps one GET on ?c=<id>', async () => {
    const s = setup();
    const open = s.fetch.one('POST', false);
    expect(open.url).toBe(URL_);
    expect(open.body).toBe('{"n":1}'); // asks for numbered batches, in POST responses too
    expect(open.init.credentials).toBe('same-origin'); // POSTs: not the held GETs' connections
    expect(open.init.redirect).toBe('error'); // like a WebSocket
    expect(s.handlers.onOpen).not.toHaveBeenCalled(); // never during connect()
    open.respond(200, '{"c":"Zp4u_-9"}');
    await settle();
    expect(s.handlers.onOpen).toHaveBeenCalledTimes(1);
    const poll = s.fetch.one('GET');
    expect(poll.url).toBe('http://h.test/realtime/poll?room=a&c=Zp4u_-9');
    expect(poll.init.credentials).toBe('omit');
    expect(poll.init.headers).toBeUndefined(); // a CORS simple request: no custom headers
  });

  it('never calls a handler during connect(), even when fetch throws synchronously', async () => {
    const handlers = { onOpen: vi.fn(), onMessage: vi.fn(), onClose: vi.fn() };
    const throwing = (() => {
      throw new TypeError('blocked');
    }) as unknown as typeof globalThis.fetch;
    longpollTransport.connect(URL_, handlers, { clock: systemClock, logger: silentLogger, fetch: throwing });
    expect(handlers.onClose).not.toHaveBeenCalled();
    await settle();
    expect(handlers.onClose).toHaveBeenCalledWith(expect.objectContaining({ code: 1006 }));
  });

  it('keeps exactly one poll outstanding and delivers each response in order', async () => {
    const s = await opened();
    s.fetch.one('GET').respond(200, '[]');
    await settle();
    s.fetch.one('GET').respond(200, '[["e",1,"a",{"n":1}],["a",3],["e",2,"b"]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"a",{"n":1}]', '["a",3]', '["e",2,"b"]']);
    s.fetch.one('GET').respond(200, '[["p",5]]');
    await settle();
    expect(s.log.at(-1)).toBe('["p",5]');
    expect(s.fetch.pending('GET')).toHaveLength(1);
    expect(s.fetch.of('GET')).toHaveLength(4);
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('batches frames sent while a POST is in flight into the next POST, in order, one POST at a time', async () => {
    const s = await opened();
    s.transport.send('["h",{"v":1,"ack":0}]');
    const first = s.fetch.one('POST');
    expect(first.body).toBe('[["h",{"v":1,"ack":0}]]');
    // A string body: fetch sends it as text/plain;charset=UTF-8, a CORS simple request, no header of ours.
    expect(first.init.headers).toBeUndefined();
    for (let i = 1; i <= 3; i++) s.transport.send(`["e",${i},"x"]`);
    await settle();
    expect(s.fetch.pending('POST')).toHaveLength(1);
    first.respond(204);
    await settle();
    const second = s.fetch.one('POST');
    expect(second.body).toBe('[["e",1,"x"],["e",2,"x"],["e",3,"x"]]');
    s.transport.send('["e",4,"x"]');
    second.respond(204);
    await settle();
    expect(s.fetch.one('POST').body).toBe('[["e",4,"x"]]');
    expect(s.fetch.of('POST').map((r) => r.body)).toEqual([
      '[["h",{"v":1,"ack":0}]]',
      '[["e",1,"x"],["e",2,"x"],["e",3,"x"]]',
      '[["e",4,"x"]]',
    ]);
  });

  it('cuts batches at MAX_BATCH_CHARS, keeping order; a larger single frame goes alone', () => {
    const big = 'x'.repeat(MAX_BATCH_CHARS);
    const small = 'y'.repeat(MAX_BATCH_CHARS / 4);
    const queue = [small, small, small, small, big, small];
    expect(takeBatch(queue)).toEqual([small, small, small]);
    expect(takeBatch(queue)).toEqual([small]);
    expect(takeBatch(queue)).toEqual([big]);
    expect(takeBatch(queue)).toEqual([small]);
    expect(queue).toEqual([]);
  });

  it('batches up to the body limit the server announced when it opened (b / 3 chars)', async () => {
    const s = await opened('conn-1', 60); // 20 chars per POST
    s.transport.send('["e",1,"x"]');
    const first = s.fetch.one('POST');
    for (let i = 2; i <= 4; i++) s.transport.send(`["e",${i},"x"]`);
    first.respond(204);
    await settle();
    expect(s.fetch.one('POST').body).toBe('[["e",2,"x"]]'); // two frames would exceed 20 chars
  });

  const statusTable: [number, number][] = [
    [400, 4400],
    [401, 4401],
    [403, 4403],
    [404, 4404],
    [410, 4404],
    [413, 4413],
    [426, 4426],
    [429, 4429],
    [500, 1011],
    [502, 1011],
    [503, 1013],
    [418, 4400],
    [302, 4400],
  ];
  it.each(statusTable)('maps a poll answered HTTP %i to close code %i', async (status, code) => {
    const s = await opened();
    s.fetch.one('GET').respond(status, 'nope');
    await settle();
    expect(s.closes).toEqual([expect.objectContaining({ code })]);
    expect(s.closes[0]?.error).toBeInstanceOf(TransportError);
    expect(s.fetch.pending('GET')).toHaveLength(0);
    // The server forgot a 404/410 id; anything else gets a best-effort DELETE.
    expect(s.fetch.of('DELETE')).toHaveLength(status === 404 || status === 410 ? 0 : 1);
  });

  it('maps the status of a failed open or send POST the same way', async () => {
    const a = setup();
    a.fetch.one('POST', false).respond(503);
    await settle();
    expect(a.closes).toEqual([expect.objectContaining({ code: 1013 })]);
    expect(a.handlers.onOpen).not.toHaveBeenCalled();
    const b = await opened();
    b.transport.send('["e",1,"x"]');
    b.transport.send('["e",2,"x"]'); // waiting behind the first POST: not retried, not sent
    b.fetch.one('POST').respond(413);
    await settle();
    expect(b.closes).toEqual([expect.objectContaining({ code: 4413 })]);
    expect(b.fetch.of('POST')).toHaveLength(1);
    expect(b.fetch.of('GET')[0]?.aborted).toBe(true);
  });

  it('treats a 2xx that is not the expected JSON as a protocol error (4400)', async () => {
    const a = setup();
    a.fetch.one('POST', false).respond(200, '<html>captive portal</html>');
    await settle();
    expect(a.closes).toEqual([expect.objectContaining({ code: 4400 })]);
    const b = await opened();
    b.fetch.one('GET').respond(200, '{"not":"an array"}');
    await settle();
    expect(b.closes).toEqual([expect.objectContaining({ code: 4400 })]);
  });

  it('delivers a close frame via onMessage, then closes with its code; no more requests on that id', async () => {
    const s = await opened();
    s.fetch.one('GET').respond(200, '[["e",1,"last"],["c",1012,"restarting"],["e",2,"ignored"]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"last"]', '["c",1012,"restarting"]']);
    expect(s.closes).toEqual([{ code: 1012, reason: 'restarting' }]);
    s.transport.send('["e",3,"late"]');
    s.transport.close(1000, 'after');
    await settle();
    expect(s.fetch.pending()).toHaveLength(0);
    expect(s.fetch.of('GET')).toHaveLength(1);
    expect(s.fetch.of('POST')).toHaveLength(0);
    expect(s.fetch.of('DELETE')).toHaveLength(0);
  });

  it('fires no onClose when the core closes the transport while handling the close frame', async () => {
    const fetch = new FakeFetch();
    const onClose = vi.fn();
    const onMessage = vi.fn((text: string) => {
      if (text.startsWith('["c"')) transport.close(4401, 'refused');
    });
    const transport: Transport = longpollTransport.connect(
      URL_,
      { onOpen: () => {}, onMessage, onClose },
      { clock: systemClock, logger: silentLogger, fetch: fetch.fn },
    );
    fetch.one('POST', false).respond(200, '{"c":"id"}');
    await settle();
    fetch.one('GET').respond(200, '[["c",4401,"unauthorized"]]');
    await settle();
    expect(onMessage).toHaveBeenCalledTimes(1);
    expect(onClose).not.toHaveBeenCalled();
    expect(fetch.pending()).toHaveLength(0);
  });

  it('closes with 1006 and the error when fetch rejects (poll or send)', async () => {
    const a = await opened();
    const boom = new TypeError('fetch failed');
    a.fetch.one('GET').fail(boom);
    await settle();
    expect(a.closes).toHaveLength(1);
    expect(a.closes[0]?.code).toBe(1006);
    expect((a.closes[0]?.error as TransportError).cause).toBe(boom);
    const b = await opened();
    b.transport.send('["e",1,"x"]');
    b.fetch.one('POST').fail();
    await settle();
    expect(b.closes.map((c) => c.code)).toEqual([1006]);
    expect(b.fetch.of('GET')[0]?.aborted).toBe(true);
  });

  it('close() before the open answer aborts it; nothing fires afterwards', async () => {
    const s = setup();
    const open = s.fetch.one('POST', false);
    s.transport.close(4001, 'connect timeout');
    await settle();
    expect(open.aborted).toBe(true);
    expect(s.fetch.requests).toHaveLength(1); // no id yet: nothing to DELETE
    expect(s.handlers.onOpen).not.toHaveBeenCalled();
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('a deliberate close() before the open answer lets it come, then DELETEs the id it made', async () => {
    const s = setup();
    const open = s.fetch.one('POST', false);
    s.transport.close(1000, 'cancelled');
    await settle();
    expect(open.aborted).toBe(false); // else the server keeps the id, and a handshake place, 10 s or more
    open.respond(200, '{"c":"late-1"}');
    await settle();
    expect(s.fetch.one('DELETE').url).toBe('http://h.test/realtime/poll?room=a&c=late-1');
    expect(s.fetch.of('POST')).toHaveLength(0); // no hello
    expect(s.fetch.of('GET')).toHaveLength(0);
    expect(s.handlers.onOpen).not.toHaveBeenCalled();
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('gives up an open answer that does not come within CLOSE_WAIT_MS of a deliberate close()', async () => {
    vi.useFakeTimers();
    try {
      const s = setup();
      const open = s.fetch.one('POST', false);
      s.transport.close(1000, 'cancelled');
      await settle();
      vi.advanceTimersByTime(CLOSE_WAIT_MS);
      await settle();
      expect(open.aborted).toBe(true);
      expect(s.fetch.requests).toHaveLength(1);
      expect(vi.getTimerCount()).toBe(0);
      expect(s.handlers.onClose).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('close() aborts the poll, DELETEs with keepalive and fires no handler afterwards', async () => {
    const s = await opened('gone-1');
    const poll = s.fetch.one('GET');
    s.transport.close(1000, 'bye');
    s.transport.close(1000, 'again'); // idempotent
    await settle();
    expect(poll.aborted).toBe(true);
    const del = s.fetch.one('DELETE');
    expect(del.url).toBe('http://h.test/realtime/poll?room=a&c=gone-1');
    expect(del.init.keepalive).toBe(true);
    expect(del.init.credentials).toBe('omit');
    del.fail(); // best effort: errors are ignored
    s.transport.send('["e",9,"after close"]');
    await settle();
    expect(s.fetch.of('POST')).toHaveLength(0);
    expect(s.handlers.onMessage).not.toHaveBeenCalled();
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('a deliberate close still sends the frames handed over before it, in order; the close frame ends the id', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    s.transport.send('["c",1000,"client closed"]');
    s.transport.close(1000, 'client closed');
    await settle();
    const inFlight = s.fetch.one('POST');
    expect(inFlight.aborted).toBe(false);
    expect(s.fetch.pending('DELETE')).toHaveLength(0);
    inFlight.respond(204);
    await settle();
    const last = s.fetch.one('POST');
    expect(last.body).toBe('[["c",1000,"client closed"]]');
    expect(last.init.keepalive).toBe(true);
    expect(s.fetch.pending('DELETE')).toHaveLength(0);
    last.respond(204);
    await settle();
    // The server ended the id on the close frame: a DELETE would only get 404 (a console error).
    expect(s.fetch.of('DELETE')).toHaveLength(0);
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('still DELETEs when the POST carrying the close frame failed', async () => {
    const s = await opened();
    s.transport.send('["c",1000,"client closed"]');
    s.transport.close(1000, 'client closed');
    await settle();
    s.fetch.one('POST').respond(503);
    await settle();
    s.fetch.one('DELETE').respond(204);
    await settle();
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('a dead-link close (heartbeat timeout) aborts the POST too and drops what was queued', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    s.transport.send('["e",2,"x"]');
    const inFlight = s.fetch.one('POST');
    s.transport.close(4000, 'heartbeat timeout');
    await settle();
    expect(inFlight.aborted).toBe(true);
    expect(s.fetch.of('POST')).toHaveLength(1);
    expect(s.fetch.of('DELETE')).toHaveLength(1);
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });
});

describe('long-polling transport: numbered batches in GET and POST responses', () => {
  it('delivers frames that come back in a POST response, then sends what waited behind that POST', async () => {
    const s = await opened();
    s.transport.send('["e",1,"echo"]');
    const post = s.fetch.one('POST');
    s.transport.send('["e",2,"echo"]'); // waits behind the POST in flight
    post.respond(200, '[1,["e",1,"echo"],["a",1]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"echo"]', '["a",1]']);
    expect(s.fetch.one('POST').body).toBe('[["e",2,"echo"]]');
    expect(s.fetch.pending('GET')).toHaveLength(1); // the poll is still held, not re-issued
    expect(s.fetch.of('GET')).toHaveLength(1);
  });

  it('ignores an empty POST response (204)', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    s.fetch.one('POST').respond(204);
    await settle();
    expect(s.log).toEqual(['open']);
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('holds a GET batch that overtook the POST batch numbered before it, then delivers both once, in order', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    const post = s.fetch.one('POST');
    s.fetch.one('GET').respond(200, '[2,["e",2,"b"],["e",3,"c"]]');
    await settle();
    expect(s.log).toEqual(['open']); // batch 1 is still on its way
    const poll = s.fetch.one('GET'); // polling goes on meanwhile
    post.respond(200, '[1,["e",1,"a"]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"a"]', '["e",2,"b"]', '["e",3,"c"]']);
    poll.respond(200, '[3,["e",4,"d"]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"a"]', '["e",2,"b"]', '["e",3,"c"]', '["e",4,"d"]']);
    expect(s.handlers.onClose).not.toHaveBeenCalled();
  });

  it('holds a POST batch that overtook the GET batch numbered before it', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    s.fetch.one('POST').respond(200, '[2,["r",2,7,1,"ok"]]');
    await settle();
    expect(s.log).toEqual(['open']);
    s.fetch.one('GET').respond(200, '[1,["e",1,"a"]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"a"]', '["r",2,7,1,"ok"]']);
  });

  it('a close frame waiting for an earlier batch stops polling, and ends the connection once that batch came', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    const post = s.fetch.one('POST');
    s.fetch.one('GET').respond(200, '[2,["e",2,"b"],["c",1012,"restarting"]]');
    await settle();
    expect(s.fetch.pending('GET')).toHaveLength(0); // the id is over: no GET that could only get 404
    expect(s.handlers.onClose).not.toHaveBeenCalled();
    post.respond(200, '[1,["e",1,"a"]]');
    await settle();
    expect(s.log).toEqual(['open', '["e",1,"a"]', '["e",2,"b"]', '["c",1012,"restarting"]']);
    expect(s.closes).toEqual([{ code: 1012, reason: 'restarting' }]);
    expect(s.fetch.of('DELETE')).toHaveLength(0);
  });

  it("a close frame waiting for the batch of a POST that failed still ends the connection with the server's code", async () => {
    // The server wrote batch 1 into the POST's response, which the network lost; the close frame
    // came on the GET. It says why the server ended the connection (a 1006 would be retried).
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    const post = s.fetch.one('POST');
    s.fetch.one('GET').respond(200, '[2,["e",2,"b"],["c",4403,"kicked"]]');
    await settle();
    post.fail();
    await settle();
    expect(s.log).toEqual(['open', '["c",4403,"kicked"]']); // e 2 is lost with batch 1: resume recovers both
    expect(s.closes).toEqual([{ code: 4403, reason: 'kicked' }]);
    expect(s.fetch.of('DELETE')).toHaveLength(0); // the close frame ended the id
  });

  it('treats a POST response that is not a JSON array of frames as a protocol error (4400)', async () => {
    const s = await opened();
    s.transport.send('["e",1,"x"]');
    s.fetch.one('POST').respond(200, '<html>captive portal</html>');
    await settle();
    expect(s.closes).toEqual([expect.objectContaining({ code: 4400 })]);
  });

  it('gives every request its own abort signal (a shared one slows fetch down request by request)', async () => {
    const s = await opened();
    s.fetch.one('GET').respond(200, '[]');
    await settle();
    s.transport.send('["e",1,"x"]');
    s.fetch.one('POST').respond(204);
    await settle();
    s.transport.send('["e",2,"x"]');
    const signals = [...s.fetch.of('GET'), ...s.fetch.of('POST')].map((r) => r.init.signal);
    expect(signals.every((signal) => signal instanceof AbortSignal)).toBe(true);
    expect(new Set(signals).size).toBe(signals.length);
    s.transport.close(4000, 'heartbeat timeout');
    expect(s.fetch.of('GET').at(-1)?.aborted).toBe(true);
    expect(s.fetch.of('POST').at(-1)?.aborted).toBe(true);
  });
});
