/**
 * What PROTOCOL.md says of one transport, checked against the reference server with the client
 * written from the document alone (test/helpers/doc-client.ts): batches on WebSocket; for long
 * polling, status codes, held GETs, numbered batches, DELETE, where the close frame travels, CORS.
 */
import { describe, expect, it } from 'vitest';
import type { ServerSession } from '../../src/server/index.js';
import { DocPoll, type DocWebSocket } from '../helpers/doc-client.js';
import { range, useDocServer } from '../helpers/doc-client-setup.js';
import { until } from '../helpers/harness.js';

const { start, link, idle, hold } = useDocServer();

describe('long polling specifics', () => {
  it('opens with a URL-safe id and its body limit as b, and sends Cache-Control: no-store', async () => {
    const s = await start({ maxFrameBytes: 50_000, longPoll: { maxBodyBytes: 20_000 } });
    const opened: unknown[] = [];
    for (const body of ['{"n":1}', undefined, 'not json', '[1]', `{"n":1,"pad":"${'x'.repeat(2000)}"}`]) {
      const a = await DocPoll.opening(s.poll, body); // options it cannot read are ignored, never refused
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ c: expect.stringMatching(/^[A-Za-z0-9_-]{22,}$/), b: 20_000 });
      expect(a.headers.get('cache-control')).toBe('no-store');
      opened.push((a.body as { c: string }).c);
    }
    for (const c of opened) expect((await fetch(`${s.poll}?c=${String(c)}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('announces the largest frame a POST carries as f in the welcome, not b: within maxFrameBytes and, with its brackets, the body limit', async () => {
    const cases = [
      [{ maxFrameBytes: 50_000 }, 49_998],
      [{ maxFrameBytes: 50_000, longPoll: { maxBodyBytes: 20_000 } }, 19_998],
      [{ maxFrameBytes: 4000, longPoll: { maxBodyBytes: 100_000 } }, 4000],
    ] as const;
    for (const [options, f] of cases) {
      const s = await start(options);
      const ws = await link(s, 'websocket');
      expect(await ws.hello()).not.toHaveProperty('f'); // there b says it
      const frame = (bytes: number, seq: number) => {
        const head = `["e",${seq},"n","`;
        return `${head}${'x'.repeat(bytes - head.length - 2)}"]`;
      };
      const fits = await link(s, 'longpoll');
      const w = await fits.hello();
      expect(w).not.toHaveProperty('b');
      expect((w as { f?: number }).f).toBe(f);
      await fits.sendText(`[${frame(f, 1)}]`); // a frame of f bytes, alone in a body, is taken
      await until(() => s.got.length === 1);
      const over = await link(s, 'longpoll');
      await over.hello();
      await over.sendText(`[${frame(f + 1, 1)}]`); // one byte more is not
      expect(await over.closeCode()).toBe(4413);
      expect(s.got).toHaveLength(1);
    }
  });

  it('answers 404 for an unknown id, 400 without one, 405 for other methods', async () => {
    const s = await start();
    const p = await idle(s);
    const unknown = `${s.poll}?c=AAAAAAAAAAAAAAAAAAAAAA`;
    for (const m of ['GET', 'POST', 'DELETE']) expect((await p.http(m, undefined, unknown)).status).toBe(404);
    for (const m of ['GET', 'DELETE']) expect((await p.http(m, undefined, s.poll)).status).toBe(400);
    expect((await p.http('PUT', undefined, s.poll)).status).toBe(405); // the method comes first
    const put = await p.http('PUT', undefined, p.url);
    expect(put.status).toBe(405);
    expect(put.headers.get('content-type')).toMatch(/^text\/plain/); // not JSON: go by the status
    expect(put.headers.get('cache-control')).toBe('no-store');
  });

  it('holds a GET until there is a frame, and a newer GET completes the older with []', async () => {
    const s = await start();
    const p = await idle(s);
    const first = await hold(s, p);
    const second = p.get();
    expect((await first.answer).body).toEqual([]);
    const hello = await p.post('[["h",{"v":1,"ack":0}]]');
    expect(hello.body).toEqual([1, ['w', expect.objectContaining({ resumed: false })]]); // in the POST answer
    s.sessions[0]?.send('n', 1);
    expect((await second).body).toEqual([2, ['e', 1, 'n', 1]]);
    expect(p.numbers).toEqual([1, 2]);
  });

  it('answers a held GET with [] after the poll timeout, with no number used', async () => {
    const s = await start({ longPoll: { pollTimeoutMs: 100 } });
    const p = await idle(s);
    await p.hello();
    expect((await p.get()).body).toEqual([]);
    s.sessions[0]?.send('n', 1);
    await p.get();
    expect(p.numbers).toEqual([1, 2]);
  });

  it('without the option: 204 for every POST and unnumbered GET bodies', async () => {
    const s = await start();
    s.rt.handle('echo', (d) => d);
    const p = await idle(s, null);
    expect((await p.post('[["h",{"v":1,"ack":0}]]')).status).toBe(204);
    expect((await p.get()).body).toEqual([['w', expect.objectContaining({ resumed: false })]]);
    expect((await p.post('[["q",1,1,"echo",7]]')).status).toBe(204);
    expect((await p.get()).body).toEqual([['r', 1, 1, 1, 7]]);
    expect(p.numbers).toEqual([]);
  });

  it('answers an echo in the POST itself, not in the held GET, with numbered batches', async () => {
    const s = await start();
    s.rt.handle('echo', (d) => Promise.resolve(d));
    s.rt.on('connection', (session) => session.on('n', (d) => session.send('n', d)));
    const p = await idle(s);
    expect((await p.post('[["h",{"v":1,"ack":0}]]')).body).toEqual([1, ['w', expect.anything()]]);
    const held = await hold(s, p);
    expect((await p.post('[["q",1,1,"echo",7]]')).body).toContainEqual(['r', 1, 1, 1, 7]);
    expect((await p.post('[["e",2,"n",8]]')).body).toContainEqual(['e', 2, 'n', 8]);
    const got = (await held.answer).body as unknown[]; // the server's ack, 50 ms later
    expect(got.slice(1)).toEqual([['a', expect.any(Number)]]);
    expect([...p.numbers].sort()).toEqual(range(1, p.numbers.length));
  });

  it('answers the preflight of an allowed origin, and 403 to another', async () => {
    const s = await start({ allowedOrigins: ['http://app.example'] });
    const pre = await fetch(s.poll, { method: 'OPTIONS', headers: { Origin: 'http://app.example' } });
    expect(pre.status).toBe(204);
    expect(Object.fromEntries(pre.headers)).toMatchObject({
      'access-control-allow-origin': 'http://app.example',
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'Content-Type',
      'access-control-max-age': expect.any(String),
    });
    const ok = await fetch(s.poll, { method: 'POST', headers: { Origin: 'http://app.example' } });
    expect([ok.status, ok.headers.get('access-control-allow-origin')]).toEqual([200, 'http://app.example']);
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    const { c } = (await ok.json()) as { c: string };
    await fetch(`${s.poll}?c=${c}`, { method: 'DELETE', headers: { Origin: 'http://app.example' } });
    expect((await fetch(s.poll, { method: 'POST', headers: { Origin: 'http://evil.example' } })).status).toBe(403);
  });

  it('sends only the newest of several acks in a row in one response', async () => {
    const s = await start();
    const p = (await idle(s)).pump();
    await p.hello();
    const events = range(1, 1000).map((i) => JSON.stringify(['e', i, 'n', i]));
    const a = await p.post(`[${events.join(',')}]`);
    await p.next((f) => f[0] === 'a' && f[1] === 1000);
    const bodies = p.answers.map((x) => x.body).filter(Array.isArray) as unknown[][];
    for (const b of bodies) {
      const tags = b.map((f) => (Array.isArray(f) ? f[0] : '#')).join('');
      expect(tags).not.toContain('aa');
    }
    expect(a.status).toBe(200);
  });

  it('refuses an opening POST with 503 while it shuts down; a GET then takes the close 1001', async () => {
    const s = await start();
    const p = await idle(s);
    await p.hello();
    const closing = s.rt.close(); // waits for the connection to take its close frame
    expect((await DocPoll.opening(s.poll)).status).toBe(503);
    expect(await p.pump().closeCode()).toBe(1001);
    await closing;
  });

  it('keeps the session resumable after a DELETE, and forgets the id', async () => {
    const s = await start();
    const p = await idle(s);
    const w = await p.hello();
    expect((await p.del()).status).toBe(204);
    expect((await p.get()).status).toBe(404);
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: true, sid: w.sid });
  });

  it('sends a close frame only in a GET response, then forgets the id (a POST that crossed it gets 204)', async () => {
    const s = await start();
    const p = (await idle(s)).pump();
    await p.hello();
    const bad = await p.post('[["e",1,"n",1],["e",3,"n",3]]'); // the first is processed, then a gap
    expect(bad.status).toBe(204);
    expect(await p.closeCode()).toBe(4400);
    expect(p.answers.filter((x) => x.method === 'POST').flatMap((x) => x.body ?? [])).not.toContainEqual(
      expect.arrayContaining(['c']),
    );
    expect((await p.post('[["e",2,"n",2]]')).status).toBe(204); // sent before the close frame was read
    expect(s.got).toEqual([1]);
    expect((await p.get()).status).toBe(404);
  });

  it.each([
    ['not JSON', '[["e",1,"n"'],
    ['not an array', '{"e":1}'],
    ['an element that is not an array', '[["e",1,"n"],5]'],
  ])('answers a body that is %s with 400, the held GET with close 4400, and ends the id', async (_, body) => {
    const s = await start();
    const p = await idle(s);
    await p.hello();
    const held = await hold(s, p);
    expect((await p.post(body)).status).toBe(400);
    expect((await held.answer).status).toBe(200);
    expect(await p.closeCode()).toBe(4400);
    expect(s.got).toEqual([]);
    expect((await p.get()).status).toBe(404);
  });

  it.each([
    [4096, 204],
    [4097, 400],
  ])('answers a body nested %i levels deep with %i', async (depth, status) => {
    const s = await start();
    const p = await idle(s);
    await p.hello();
    expect((await p.post('['.repeat(depth) + ']'.repeat(depth))).status).toBe(status);
  });

  it('answers a body over maxBodyBytes with 413 and discards the session', async () => {
    const s = await start({ longPoll: { maxBodyBytes: 1024 } });
    const p = await idle(s);
    const w = await p.hello();
    expect((await p.post(`[["e",1,"n","${'x'.repeat(2000)}"]]`)).status).toBe(413);
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: false });
  });

  it("ends on the client's close frame: 204, a held GET answered 204, the session gone", async () => {
    const s = await start();
    const p = await idle(s);
    const w = await p.hello();
    const held = await hold(s, p);
    expect((await p.post('[["c",1000,"bye"]]')).status).toBe(204);
    expect((await held.answer).status).toBe(204);
    expect((await p.get()).status).toBe(404);
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: false });
  });

  it.each([
    [4400, false],
    [4413, false],
    [4999, true],
  ])("after the client's close frame %i, a resume gets resumed: %s", async (code, resumed) => {
    const s = await start();
    const p = await idle(s);
    const w = await p.hello();
    expect((await p.post(JSON.stringify([['c', code, 'refused']]))).status).toBe(204);
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed });
  });

  it('closes with 4508 when frames waiting for a GET exceed maxSendBufferBytes', async () => {
    const s = await start({ maxSendBufferBytes: 10_000 });
    const p = await idle(s);
    const w = await p.hello();
    s.sessions[0]?.send('n', 'x'.repeat(6000));
    s.sessions[0]?.send('n', 'y'.repeat(6000));
    s.sessions[0]?.send('n', 'z'); // the limit is checked before each message is queued
    await p
      .pump()
      .closeCode()
      .then((code) => expect(code).toBe(4508));
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: false });
  });

  it('processes nothing after a close frame in a body; a DELETE answers a held GET with 404', async () => {
    const s = await start();
    const p = await idle(s);
    await p.hello();
    expect((await p.post('[["e",1,"n",1],["c",4999,"bye"],["e",2,"n",2]]')).status).toBe(204);
    expect(s.got).toEqual([1]);
    expect((await p.post('[["e",2,"n",2]]')).status).toBe(404);
    const q = await idle(s);
    await q.hello();
    const held = await hold(s, q);
    expect((await q.del()).status).toBe(204);
    expect((await held.answer).status).toBe(404);
  });

  it('answers a held GET with 404 when a resume takes the session over', async () => {
    const s = await start();
    const p = await idle(s);
    const w = await p.hello();
    const held = await hold(s, p);
    const q = await link(s, 'longpoll');
    expect(await q.hello({ resume: w.resume })).toMatchObject({ resumed: true });
    expect((await held.answer).status).toBe(404);
  });
});

describe('batches on WebSocket', () => {
  it('sends batches only after welcome and within the b the client announced', async () => {
    const s = await start();
    const c = await link(s, 'websocket');
    await c.hello({ b: 600 });
    const session = s.sessions[0] as ServerSession;
    for (const i of range(1, 40)) session.send('n', `frame ${i}`);
    for (const i of range(1, 40)) expect(await c.sequenced()).toEqual(['e', i, 'n', `frame ${i}`]);
    const batches = c.messages.filter((m) => Array.isArray((m.value as unknown[])[0]));
    expect(batches.length).toBeGreaterThan(1);
    for (const m of c.messages) expect(m.bytes).toBeLessThanOrEqual(600);
    expect(Array.isArray((c.messages[0]?.value as unknown[])[0])).toBe(false);
  });

  it('sends the welcome of a resume alone, and the replay in batches', async () => {
    const s = await start();
    const c1 = await link(s, 'websocket');
    const w = await c1.hello();
    for (const i of range(1, 10)) s.sessions[0]?.send('n', i);
    await c1.sequenced();
    await c1.drop();
    const c2 = await link(s, 'websocket');
    await c2.hello({ resume: w.resume, b: 1 << 20 });
    for (const i of range(1, 10)) expect(await c2.sequenced()).toEqual(['e', i, 'n', i]);
    expect(c2.messages[0]?.value).toEqual(['w', c2.welcome]);
    expect(c2.messages.length).toBeLessThan(11);
  });

  it('sends one frame per message to a client that announced no b', async () => {
    const s = await start();
    const c = await link(s, 'websocket');
    await c.hello();
    for (const i of range(1, 20)) s.sessions[0]?.send('n', i);
    for (const i of range(1, 20)) expect(await c.sequenced()).toEqual(['e', i, 'n', i]);
    expect(c.messages.every((m) => typeof (m.value as unknown[])[0] === 'string')).toBe(true);
  });

  it('takes a batch in order, and nothing after a close frame in it', async () => {
    const s = await start();
    const c = await link(s, 'websocket');
    await c.hello({ b: 1 << 20 });
    await c.send(['e', 1, 'n', 1], ['e', 2, 'n', 2], ['a', 0]);
    await c.next((f) => f[0] === 'a' && f[1] === 2);
    await c.send(['e', 3, 'n', 3], ['c', 4999, 'bye'], ['e', 4, 'n', 4]);
    await (c as DocWebSocket).closed;
    expect(s.got).toEqual([1, 2, 3]);
  });

  it.each([
    ['an empty batch', '[]'],
    ['a batch holding a non-frame', '[["e",1,"n",1],5]'],
    ['a batch inside a batch', '[["e",1,"n",1],[["e",2,"n",2]]]'],
  ])('refuses %s as a whole with 4400', async (_, text) => {
    const s = await start();
    const c = await link(s, 'websocket');
    await c.hello({ b: 1 << 20 });
    await c.sendText(text);
    expect(await c.closeCode()).toBe(4400);
    expect(s.got).toEqual([]);
  });

  it('refuses a hello in a batch (4400): it travels alone', async () => {
    const s = await start();
    const c = await link(s, 'websocket');
    await c.sendText('[["h",{"v":1,"ack":0}]]');
    expect(await c.closeCode()).toBe(4400);
  });

  it('counts a batch as a whole against maxFrameBytes (4413)', async () => {
    const s = await start({ maxFrameBytes: 1024 });
    const c = await link(s, 'websocket');
    expect((await c.hello()).b).toBe(1024);
    await c.send(['e', 1, 'n', 'x'.repeat(600)], ['e', 2, 'n', 'x'.repeat(600)]);
    expect(await c.closeCode()).toBe(4413);
    expect(s.got).toEqual([]);
  });

  it('sends frames larger than the b the client announced alone', async () => {
    const s = await start();
    const c = await link(s, 'websocket');
    await c.hello({ b: 10 });
    for (const i of range(1, 5)) s.sessions[0]?.send('n', i);
    for (const i of range(1, 5)) expect(await c.sequenced()).toEqual(['e', i, 'n', i]);
    expect(c.messages.every((m) => typeof (m.value as unknown[])[0] === 'string')).toBe(true);
  });

  it('closes on a binary message with 4400', async () => {
    const s = await start();
    const c = (await link(s, 'websocket')) as DocWebSocket;
    await c.hello();
    c.sendBinary(new TextEncoder().encode('["e",1,"n",1]'));
    expect(await c.closeCode()).toBe(4400);
  });
});
