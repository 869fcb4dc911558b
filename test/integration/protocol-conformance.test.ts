/**
 * PROTOCOL.md as a contract for a third party: an independent peer that speaks the frames by hand
 * (raw `ws` and plain `fetch`, JSON built and read here, no surelink codec) against the reference
 * server on 127.0.0.1 port 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import WebSocket from 'ws';
import { createRealtimeServer } from '../../src/server/index.js';
import type { RealtimeServerOptions } from '../../src/server/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/raw-client.js';

type J = unknown[];
const WAIT = 5_000;

/** A hand-written protocol peer on a raw WebSocket. */
class Peer {
  readonly messages: string[] = [];
  readonly frames: J[] = [];
  closeInfo: { code: number; reason: string } | null = null;
  #cursor = 0;
  #wake: (() => void) | null = null;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      this.messages.push(text);
      const parsed = JSON.parse(text) as J;
      if (Array.isArray(parsed[0])) for (const f of parsed) this.frames.push(f as J);
      else this.frames.push(parsed);
      this.#wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.#wake?.();
    });
    ws.on('error', () => {});
  }
  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }
  sendText(text: string): void {
    this.ws.send(text);
  }
  async #wait(deadline: number): Promise<void> {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new Error('timed out');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = null;
        resolve();
      };
    });
  }
  /** Next frame with this tag (skips others). */
  async next(tag: string, timeoutMs = WAIT): Promise<J> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.frames.length) {
        const f = this.frames[this.#cursor++] as J;
        if (f[0] === tag) return f;
      }
      if (this.closeInfo) throw new Error(`closed ${this.closeInfo.code} waiting for ${tag}`);
      await this.#wait(deadline);
    }
  }
  async closed(timeoutMs = WAIT): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closeInfo) await this.#wait(deadline);
    return this.closeInfo;
  }
  /** The `close` frame received, if any. */
  closeFrame(): J | undefined {
    return this.frames.find((f) => f[0] === 'c');
  }
  async hello(fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    this.send(['h', { v: 1, ack: 0, ...fields }]);
    return (await this.next('w'))[1] as Record<string, unknown>;
  }
}

const servers: { http: Server; close: () => Promise<void> }[] = [];
const peers: Peer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  for (const s of servers.splice(0)) {
    await s.close();
    s.http.closeAllConnections();
    await new Promise<void>((resolve) => s.http.close(() => resolve()));
  }
});

async function server(options: Omit<RealtimeServerOptions<unknown>, 'server'> = {}) {
  const http = createServer((_q, res) => res.writeHead(404).end());
  const rt = createRealtimeServer<Record<string, unknown>, Record<string, unknown>, unknown>({
    server: http,
    ...options,
  });
  servers.push({
    http,
    close: async () => {
      const closing = rt.close();
      if (options.clock instanceof ManualClock) options.clock.advance(60_000); // its shutdown waits
      await closing;
    },
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return { rt, ws: `ws://127.0.0.1:${port}/realtime`, poll: `http://127.0.0.1:${port}/realtime/poll` };
}

async function peer(url: string): Promise<Peer> {
  const ws = new WebSocket(url);
  const p = new Peer(ws);
  peers.push(p);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return p;
}

/** Sends `hello` text and expects a close frame with `code` then the socket closing with it. */
async function refused(url: string, first: string, code: number): Promise<J> {
  const p = await peer(url);
  p.sendText(first);
  const closed = await p.closed();
  const frame = p.closeFrame();
  expect(frame?.[1], first).toBe(code);
  expect(closed.code).toBe(code);
  return frame as J;
}

describe('handshake validation (each 4400 row)', () => {
  it('refuses malformed hellos with 4400 and accepts 1.0/1e0 and unknown fields', async () => {
    const { ws } = await server();
    const bad = [
      '["h",{"v":1}]',
      '["h",{"ack":0}]',
      '["h",{"v":"1","ack":0}]',
      '["h",{"v":1,"ack":-1}]',
      '["h",{"v":1,"ack":1.5}]',
      '["h",{"v":1,"ack":null}]',
      '["h",{"v":1,"ack":0,"auth":null}]',
      '["h",{"v":1,"ack":0,"auth":5}]',
      '["h",{"v":1,"ack":0,"resume":null}]',
      '["h",{"v":1,"ack":0,"b":0}]',
      '["h",{"v":1,"ack":0,"b":1.5}]',
      '["h",{"v":1,"ack":0},1]',
      '["h"]',
      '["H",{"v":1,"ack":0}]',
      '["e",1,"x"]',
      '[["h",{"v":1,"ack":0}]]',
      'not json',
      '[]',
      '{}',
    ];
    for (const text of bad) await refused(ws, text, 4400);
    for (const text of ['["h",{"v":1.0,"ack":0e0,"x":null}]', ' [ "h" , { "v" : 1e0 , "ack" : 0 } ] ']) {
      const p = await peer(ws);
      p.sendText(text);
      const w = (await p.next('w'))[1] as Record<string, unknown>;
      expect(w.v).toBe(1);
    }
  });

  it('binary first message: 4400', async () => {
    const { ws } = await server();
    const p = await peer(ws);
    p.ws.send(Buffer.from('["h",{"v":1,"ack":0}]'), { binary: true });
    expect((await p.closed()).code).toBe(4400);
    expect(p.closeFrame()?.[1]).toBe(4400);
  });

  it('v 2: 4426 naming the supported version; auth refused or thrown: 4401', async () => {
    const { ws } = await server({
      authenticate: (token) => {
        if (token === 'throw') throw new Error('boom');
        return token === 'ok' ? 'id' : false;
      },
    });
    const f = await refused(ws, '["h",{"v":2,"ack":0,"auth":"ok"}]', 4426);
    expect(String(f[2])).toContain('1');
    expect((await refused(ws, '["h",{"v":1,"ack":0,"auth":"nope"}]', 4401))[2]).toBe('unauthorized');
    await refused(ws, '["h",{"v":1,"ack":0,"auth":"throw"}]', 4401);
    await refused(ws, '["h",{"v":1,"ack":0}]', 4401);
  });

  it('oversize hello: 4413', async () => {
    const { ws } = await server({ maxFrameBytes: 1024 });
    await refused(ws, `["h",{"v":1,"ack":0,"auth":"${'x'.repeat(1100)}"}]`, 4413);
  });

  it('welcome fields: v, sid, resume (≥128 bits), resumed, ack, hb, b', async () => {
    const { ws } = await server({ heartbeat: { intervalMs: 1234, timeoutMs: 567 }, maxFrameBytes: 5000 });
    const p = await peer(ws);
    const w = await p.hello({ b: 1048576 });
    expect(w).toMatchObject({ v: 1, resumed: false, ack: 0, hb: [1234, 567], b: 5000 });
    expect(typeof w.sid).toBe('string');
    expect(typeof w.resume).toBe('string');
    expect((w.resume as string).length).toBeGreaterThanOrEqual(22);
    expect(w.f).toBeUndefined();
    // welcome traveled alone, a plain frame
    expect(JSON.parse(p.messages[0] as string)[0]).toBe('w');
  });

  it('maxSessions: a new session over it gets 4429, a resume is admitted', async () => {
    const { ws } = await server({ maxSessions: 1 });
    const a = await peer(ws);
    const w = await a.hello();
    await refused(ws, '["h",{"v":1,"ack":0}]', 4429);
    a.ws.terminate();
    await a.closed();
    const b = await peer(ws);
    expect((await b.hello({ resume: w.resume })).resumed).toBe(true);
  });

  it('handshake timeout: close frame 4008 and socket code 4008', async () => {
    const clock = new ManualClock();
    const { ws } = await server({ clock, handshakeTimeoutMs: 1000 });
    const p = await peer(ws);
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(1000);
    expect((await p.closed()).code).toBe(4008);
    expect(p.closeFrame()?.[1]).toBe(4008);
  });
});

describe('frames after the handshake', () => {
  async function open(options: Omit<RealtimeServerOptions<unknown>, 'server'> = {}, hello = {}) {
    const s = await server(options);
    const p = await peer(s.ws);
    const w = await p.hello(hello);
    return { ...s, p, w };
  }

  it('each bad frame is 4400', async () => {
    const bad: unknown[] = [
      ['e', 0, 'x'],
      ['e', 2, 'x'],
      ['e', 1, ''],
      ['e', 1, 'x'.repeat(257)],
      ['e', 1, 'open'],
      ['e', 1, 'disconnect'],
      ['e', 1, 'x', 1, 2],
      ['r', 1, 1, 1],
      ['q', 1, 0, 'x'],
      ['a', 1],
      ['a', -1],
      ['p', 'x'],
      ['c', 999, ''],
      ['c', 5000, ''],
      ['c', 1000, 'x'.repeat(124)],
      ['c', 1000],
      ['w', {}],
      ['h', { v: 1, ack: 0 }],
      ['x', 1],
    ];
    for (const frame of bad) {
      const { p } = await open();
      p.send(frame);
      expect((await p.closed()).code, JSON.stringify(frame)).toBe(4400);
      expect(p.closeFrame()?.[1], JSON.stringify(frame)).toBe(4400);
    }
  });

  it('accepts name of 256 units, a close reason of 123 units, 1e0 seq', async () => {
    const got: unknown[] = [];
    const { rt, p } = await open();
    rt.on('connection', () => {});
    const s = [...rt.sessions.values()][0];
    s?.on('n'.repeat(256), (d: unknown) => got.push(d));
    s?.on('y', (d: unknown) => got.push(d));
    p.sendText(`["e",1e0,"${'n'.repeat(256)}",null]`);
    p.send(['e', 2, 'y']);
    p.send(['p', 1]);
    await p.next('o');
    expect(got).toEqual([null, undefined]);
  });

  it('duplicate dropped but acked; stale ack ignored; ping echoes ts unchanged', async () => {
    const got: unknown[] = [];
    const { rt, p } = await open();
    const s = [...rt.sessions.values()][0];
    s?.on('x', (d: unknown) => got.push(d));
    p.send(['e', 1, 'x', 'a']);
    p.send(['e', 1, 'x', 'dup']);
    expect(await p.next('a')).toEqual(['a', 1]);
    p.send(['p', -1.25]);
    expect(await p.next('o')).toEqual(['o', -1.25]);
    expect(got).toEqual(['a']);
  });

  it('acks in bulk: one after 64 frames with no timer run, none for 63 until 50 ms', async () => {
    const clock = new ManualClock();
    const { p } = await open({ clock }, { b: 1048576 });
    const batch = Array.from({ length: 63 }, (_, i) => ['e', i + 1, 'x', i]);
    p.send(batch);
    p.send(['p', 1]);
    await p.next('o');
    expect(p.frames.filter((f) => f[0] === 'a')).toEqual([]);
    clock.advance(50);
    expect(await p.next('a')).toEqual(['a', 63]);
    p.send(Array.from({ length: 64 }, (_, i) => ['e', i + 64, 'x', i]));
    expect(await p.next('a')).toEqual(['a', 127]);
  });

  it('batches: empty, nested or with a bad frame are 4400 with none processed; close ends the batch', async () => {
    for (const text of ['[]', '[[]]', '[["e",1,"x"],[["e",2,"x"]]]', '[["e",1,"x"],"e"]']) {
      const got: unknown[] = [];
      const { rt, p } = await open({}, { b: 1048576 });
      [...rt.sessions.values()][0]?.on('x', () => got.push(1));
      p.sendText(text);
      expect((await p.closed()).code, text).toBe(4400);
      if (text !== '[]') expect(got, text).toEqual([]);
    }
    const got: unknown[] = [];
    const { rt, p } = await open({}, { b: 1048576 });
    [...rt.sessions.values()][0]?.on('x', () => got.push(1));
    p.sendText('[["e",1,"x"],["c",1000,"bye"],["e",2,"x"],["e",9,"x"]]');
    expect((await p.closed()).code).toBe(1000);
    expect(got).toEqual([1]);
  });

  it('batch over maxFrameBytes: 4413; server sends batches only to a hello with b', async () => {
    const { p } = await open({ maxFrameBytes: 1024 }, { b: 1048576 });
    p.sendText(JSON.stringify(Array.from({ length: 60 }, (_, i) => ['e', i + 1, 'x', 'yyyy'])));
    expect((await p.closed()).code).toBe(4413);

    const { rt, p: q } = await open();
    const s = [...rt.sessions.values()][0];
    for (let i = 0; i < 5; i++) s?.send('t', i);
    for (let i = 0; i < 5; i++) await q.next('e');
    expect(q.messages.every((m) => !Array.isArray(JSON.parse(m)[0]))).toBe(true);

    const { rt: rt2, p: r } = await open({}, { b: 1048576 });
    const s2 = [...rt2.sessions.values()][0];
    for (let i = 0; i < 5; i++) s2?.send('t', i);
    for (let i = 0; i < 5; i++) await r.next('e');
    // the first goes alone, the rest in one batch
    expect(r.messages.length).toBe(3);
    expect(JSON.parse(r.messages[1] as string)).toEqual(['e', 1, 't', 0]);
  });

  it('frame limit is in UTF-8 bytes', async () => {
    const { p } = await open({ maxFrameBytes: 1024 });
    p.send(['e', 1, 'x', '€'.repeat(340)]); // 353 characters, 1033 bytes
    expect((await p.closed()).code).toBe(4413);
  });

  it('ack beyond sent: 4400; hello.ack beyond sent on resume: 4400, session left as it was', async () => {
    const { p } = await open();
    p.send(['a', 1]);
    expect((await p.closed()).code).toBe(4400);

    const { rt, ws, p: q, w } = await open();
    const s = [...rt.sessions.values()][0];
    s?.send('t', 1);
    await q.next('e');
    q.ws.terminate();
    await q.closed();
    const r = await peer(ws);
    r.send(['h', { v: 1, ack: 2, resume: w.resume }]);
    expect((await r.closed()).code).toBe(4400);
    const t = await peer(ws);
    const w2 = await t.hello({ resume: w.resume, ack: 0 });
    expect(w2.resumed).toBe(true);
    expect(w2.sid).toBe(w.sid);
    expect(await t.next('e')).toEqual(['e', 1, 't', 1]);
  });

  it('resume replays unacked frames in order; old connection is dropped without a close frame', async () => {
    const { rt, ws, p, w } = await open();
    const s = [...rt.sessions.values()][0];
    p.send(['e', 1, 'up']);
    for (let i = 1; i <= 3; i++) s?.send('t', i);
    for (let i = 1; i <= 3; i++) await p.next('e');
    const q = await peer(ws);
    const w2 = await q.hello({ resume: w.resume, ack: 1 });
    expect(w2).toMatchObject({ resumed: true, ack: 1, sid: w.sid });
    expect(await q.next('e')).toEqual(['e', 2, 't', 2]);
    expect(await q.next('e')).toEqual(['e', 3, 't', 3]);
    await p.closed();
    expect(p.closeFrame()).toBeUndefined();
    expect(p.closeInfo?.code).toBe(1006);
    // unknown token: new session
    const r = await peer(ws);
    const w3 = await r.hello({ resume: 'nope', ack: 5 });
    expect(w3).toMatchObject({ resumed: false, ack: 0 });
    expect(w3.sid).not.toBe(w.sid);
  });

  it('after a close 1000 or 4400 from the client the session is gone; after another code it resumes', async () => {
    for (const [code, resumed] of [
      [1000, false],
      [4400, false],
      [4413, false],
      [4001, true],
    ] as const) {
      const { ws, p, w } = await open();
      p.send(['c', code, '']);
      await p.closed();
      const q = await peer(ws);
      expect((await q.hello({ resume: w.resume })).resumed, String(code)).toBe(resumed);
    }
  });

  it('requests: ok with and without data, errors, NO_HANDLER, run once', async () => {
    let runs = 0;
    const { rt, p } = await open();
    rt.handle('ok', (d: unknown) => {
      runs++;
      return d;
    });
    rt.handle('none', () => undefined);
    rt.handle('boom', () => {
      throw new Error('secret /etc/path');
    });
    rt.handle('coded', () => {
      throw Object.assign(new Error('nope'), { code: 'E_MINE' });
    });
    p.send(['q', 1, 7, 'ok', { a: 1 }]);
    p.send(['q', 1, 7, 'ok', { a: 1 }]);
    p.send(['q', 2, 8, 'none']);
    p.send(['q', 3, 9, 'boom']);
    p.send(['q', 4, 10, 'coded']);
    p.send(['q', 5, 11, 'missing']);
    const rs: J[] = [];
    for (let i = 0; i < 5; i++) rs.push(await p.next('r'));
    const byId = new Map(rs.map((r) => [r[2], r]));
    expect(byId.get(7)?.slice(2)).toEqual([7, 1, { a: 1 }]);
    expect(byId.get(8)?.slice(2)).toEqual([8, 1]);
    expect(byId.get(9)?.slice(2)).toEqual([9, 0, { code: 'HANDLER_ERROR', message: 'request handler failed' }]);
    expect((byId.get(10)?.[4] as { code: string }).code).toBe('E_MINE');
    expect((byId.get(11)?.[4] as { code: string }).code).toBe('NO_HANDLER');
    expect(runs).toBe(1);
    expect(rs.map((r) => r[1]).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('server heartbeat: pings after intervalMs of silence, terminates without a close frame after interval+timeout', async () => {
    const clock = new ManualClock();
    const { p } = await open({ clock, heartbeat: { intervalMs: 100, timeoutMs: 50 } });
    clock.advance(100);
    const ping = await p.next('p');
    expect(typeof ping[1]).toBe('number');
    clock.advance(50);
    const closed = await p.closed();
    expect(p.closeFrame()).toBeUndefined();
    expect(closed.code).toBe(1006);
  });

  it('server shutdown: close 1001', async () => {
    const { rt, p } = await open();
    void rt.close();
    expect((await p.closed()).code).toBe(1001);
    expect(p.closeFrame()?.[1]).toBe(1001);
  });
});

describe('long polling HTTP contract', () => {
  async function openPoll(url: string, body = '') {
    const res = await fetch(url, { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return (await res.json()) as { c: string; b?: number };
  }

  it('opening, handshake, welcome with f and no b, held GET, DELETE', async () => {
    const { poll } = await server({ longPoll: { pollTimeoutMs: 300 }, maxFrameBytes: 5000 });
    const { c, b } = await openPoll(poll);
    expect(c).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(b).toBe(5000);
    const post = await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["h",{"v":1,"ack":0,"b":1048576}]]' });
    expect(post.status).toBe(204);
    const get = await fetch(`${poll}?c=${c}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('cache-control')).toBe('no-store');
    const frames = (await get.json()) as J[];
    const w = frames[0]?.[1] as Record<string, unknown>;
    expect(w.b).toBeUndefined();
    expect(w.f).toBe(4998);
    const held = await fetch(`${poll}?c=${c}`);
    expect(await held.json()).toEqual([]);
    const del = await fetch(`${poll}?c=${c}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const after = await fetch(`${poll}?c=${c}`);
    expect(after.status).toBe(404);
    expect(after.headers.get('cache-control')).toBe('no-store');
  });

  it('other answers: 400 without c, 405 for other methods, 404 unknown id, bodies', async () => {
    const { poll } = await server();
    for (const [method, url, status] of [
      ['GET', poll, 400],
      ['DELETE', poll, 400],
      ['PUT', poll, 405],
      ['PATCH', `${poll}?c=x`, 405],
      ['GET', `${poll}?c=unknown`, 404],
      ['POST', `${poll}?c=unknown`, 404],
      ['DELETE', `${poll}?c=unknown`, 404],
    ] as const) {
      const res = await fetch(url, { method });
      expect(res.status, `${method} ${url}`).toBe(status);
      expect(res.headers.get('cache-control'), `${method} ${url}`).toBe('no-store');
      await res.text();
    }
    for (const body of ['{}', '[1]', 'nope', '[["h",{"v":1,"ack":0}]', `${'['.repeat(4097)}${']'.repeat(4097)}`]) {
      const { c } = await openPoll(poll);
      const res = await fetch(`${poll}?c=${c}`, { method: 'POST', body });
      expect(res.status, body.slice(0, 20)).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      await res.text();
      expect((await fetch(`${poll}?c=${c}`)).status).toBe(404);
    }
  });

  it('ignored opening bodies; n:1 numbered batches', async () => {
    const { poll } = await server();
    await openPoll(poll, 'not json');
    await openPoll(poll, `{"x":"${'y'.repeat(2000)}"}`);
    await openPoll(poll, '[1]');
    const { c } = await openPoll(poll, '{"n":1}');
    const res = await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as unknown[];
    expect(body[0]).toBe(1);
    expect((body[1] as J)[0]).toBe('w');
  });

  it('a POST repeating the hello text is dropped with 204; body over the limit 413', async () => {
    const { poll } = await server({ longPoll: { maxBodyBytes: 1024 } });
    const { c } = await openPoll(poll);
    const hello = '[["h",{"v":1,"ack":0}]]';
    expect((await fetch(`${poll}?c=${c}`, { method: 'POST', body: hello })).status).toBe(204);
    expect((await fetch(`${poll}?c=${c}`, { method: 'POST', body: hello })).status).toBe(204);
    const get = (await (await fetch(`${poll}?c=${c}`)).json()) as J[];
    expect(get.map((f) => f[0])).toEqual(['w']);
    const big = await fetch(`${poll}?c=${c}`, { method: 'POST', body: `[["e",1,"x","${'z'.repeat(1100)}"]]` });
    expect(big.status).toBe(413);
    expect(big.headers.get('cache-control')).toBe('no-store');
    const last = await fetch(`${poll}?c=${c}`);
    expect(last.status).toBe(404);
  });

  it('a newer GET completes the older with []', async () => {
    const { poll } = await server();
    const { c } = await openPoll(poll);
    await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    await fetch(`${poll}?c=${c}`);
    const first = fetch(`${poll}?c=${c}`);
    await new Promise((r) => setTimeout(r, 50));
    const second = fetch(`${poll}?c=${c}`);
    expect(await (await first).json()).toEqual([]);
    await fetch(`${poll}?c=${c}`, { method: 'POST', body: '[["c",1000,""]]' });
    expect((await second).status).toBeLessThan(300);
  });
});

describe('more rules', () => {
  async function open(options: Omit<RealtimeServerOptions<unknown>, 'server'> = {}, hello = {}) {
    const s = await server(options);
    const p = await peer(s.ws);
    const w = await p.hello(hello);
    return { ...s, p, w, session: () => [...s.rt.sessions.values()][0] };
  }

  it('a client close reason of 123 code units but more than 123 bytes is accepted', async () => {
    const ends: unknown[] = [];
    const { p, session } = await open();
    session()?.on('end', (e: unknown) => ends.push(e));
    p.send(['c', 1000, '€'.repeat(100)]);
    const closed = await p.closed();
    expect(closed.code).toBe(1000);
    expect(p.closeFrame()).toBeUndefined();
  });

  it('a server close reason is cut to 123 UTF-8 bytes, whole code points', async () => {
    const { p, session } = await open();
    session()?.close(4000, '€'.repeat(100));
    const closed = await p.closed();
    const frame = p.closeFrame() as J;
    expect(frame[1]).toBe(4000);
    expect(Buffer.byteLength(frame[2] as string)).toBeLessThanOrEqual(123);
    expect(frame[2]).toBe('€'.repeat(41));
    expect(closed.code).toBe(4000);
  });

  it('4426 reason as in the example', async () => {
    const { ws } = await server();
    const f = await refused(ws, '["h",{"v":2,"ack":0}]', 4426);
    expect(f[2]).toBe('protocol version 2 is not supported (server speaks 1)');
  });

  it('ping ts that overflows to infinity: 4400; big and fractional ts echoed', async () => {
    const { p } = await open();
    p.sendText('["p",123456789012345.5]');
    expect(await p.next('o')).toEqual(['o', 123456789012345.5]);
    p.sendText('["p",1e400]');
    expect((await p.closed()).code).toBe(4400);
  });

  it('early frames after hello are processed after welcome; resume identity mismatch is a new session', async () => {
    const got: unknown[] = [];
    const s = await server({ authenticate: (t) => t ?? false });
    s.rt.on('connection', (session) => session.on('x', (d: unknown) => got.push(d)));
    const p = await peer(s.ws);
    p.sendText('["h",{"v":1,"ack":0,"auth":"alice"}]');
    p.send(['e', 1, 'x', 'early']);
    p.send(['p', 5]);
    const w = (await p.next('w'))[1] as Record<string, unknown>;
    expect(await p.next('o')).toEqual(['o', 5]);
    expect(got).toEqual(['early']);
    p.ws.terminate();
    await p.closed();
    const q = await peer(s.ws);
    expect((await q.hello({ auth: 'bob', resume: w.resume })).resumed).toBe(false);
    const r = await peer(s.ws);
    expect((await r.hello({ auth: 'alice', resume: w.resume, ack: 0 })).resumed).toBe(true);
  });

  it('hello then close 1000 before the welcome ends the session', async () => {
    const s = await server();
    const p = await peer(s.ws);
    p.sendText('["h",{"v":1,"ack":0}]["c",1000,""]'.slice(0, 21));
    p.send(['c', 1000, '']);
    await p.closed();
    await new Promise((r) => setTimeout(r, 50));
    expect(s.rt.sessions.size).toBe(0);
  });

  it('RATE_LIMITED and BUSY keep the connection open', async () => {
    const { rt, p } = await open({ requestRateLimit: { perSecond: 1, burst: 1 } });
    rt.handle('x', () => 1);
    p.send(['q', 1, 1, 'x']);
    p.send(['q', 2, 2, 'x']);
    const [a, b] = [await p.next('r'), await p.next('r')].sort((x, y) => (x[2] as number) - (y[2] as number)) as [J, J];
    expect(a.slice(2, 4)).toEqual([1, 1]);
    expect(b.slice(2, 4)).toEqual([2, 0]);
    expect((b[4] as { code: string }).code).toBe('RATE_LIMITED');
    p.send(['p', 1]);
    await p.next('o');

    const { rt: rt2, p: q } = await open({ maxPendingRequests: 1 });
    rt2.handle('slow', () => new Promise(() => {}));
    q.send(['q', 1, 1, 'slow']);
    q.send(['q', 2, 2, 'slow']);
    const busy = await q.next('r');
    expect(busy.slice(2, 4)).toEqual([2, 0]);
    expect((busy[4] as { code: string }).code).toBe('BUSY');
  });

  it('heartbeat interval 0 option: welcome.hb values are still ≥ 1', async () => {
    let w: Record<string, unknown> | undefined;
    try {
      ({ w } = await open({ heartbeat: { intervalMs: 0, timeoutMs: 0 } }));
    } catch (e) {
      return void expect(String(e)).toMatch(/heartbeat|interval/i);
    }
    const hb = w.hb as number[];
    expect(hb[0]).toBeGreaterThanOrEqual(1);
    expect(hb[1]).toBeGreaterThanOrEqual(1);
  });

  it('maxHandshakes: a WebSocket over it gets close 4429 at once; an opening POST 429', async () => {
    const s = await server({ maxHandshakes: 1 });
    const a = await peer(s.ws);
    const b = await peer(s.ws);
    expect((await b.closed()).code).toBe(4429);
    expect(b.closeFrame()?.[1]).toBe(4429);
    const res = await fetch(s.poll, { method: 'POST' });
    expect(res.status).toBe(429);
    expect(res.headers.get('cache-control')).toBe('no-store');
    await res.text();
    void a;
  });
});

describe('long polling, more', () => {
  async function openPoll(url: string, body = '') {
    const res = await fetch(url, { method: 'POST', body });
    expect(res.status).toBe(200);
    return ((await res.json()) as { c: string }).c;
  }
  const post = (url: string, c: string, body: string) => fetch(`${url}?c=${c}`, { method: 'POST', body });

  it('a bad element: frames before it processed, POST answered, close 4400 in a GET', async () => {
    const got: unknown[] = [];
    const s = await server();
    s.rt.on('connection', (session) => session.on('x', (d: unknown) => got.push(d)));
    const c = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    await (await fetch(`${s.poll}?c=${c}`)).json();
    const res = await post(s.poll, c, '[["e",1,"x",1],["e",2,"x",2],["zz",1],["e",3,"x",3]]');
    expect(res.status).toBe(204);
    const frames = (await (await fetch(`${s.poll}?c=${c}`)).json()) as J[];
    expect(frames.at(-1)?.slice(0, 2)).toEqual(['c', 4400]);
    expect(got).toEqual([1, 2]);
    // a POST shortly after the close frame was taken: 204, dropped
    expect((await post(s.poll, c, '[["e",3,"x",3]]')).status).toBe(204);
  });

  it('held GET: 204 when the client closed, 404 on DELETE; DELETE leaves the session resumable', async () => {
    const s = await server();
    const c = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    const w = ((await (await fetch(`${s.poll}?c=${c}`)).json()) as J[])[0]?.[1] as Record<string, unknown>;
    const held = fetch(`${s.poll}?c=${c}`);
    await new Promise((r) => setTimeout(r, 30));
    expect((await fetch(`${s.poll}?c=${c}`, { method: 'DELETE' })).status).toBe(204);
    expect((await held).status).toBe(404);
    const p = await peer(s.ws);
    expect((await p.hello({ resume: w.resume })).resumed).toBe(true);

    const c2 = await openPoll(s.poll);
    await post(s.poll, c2, '[["h",{"v":1,"ack":0}]]');
    await (await fetch(`${s.poll}?c=${c2}`)).json();
    const held2 = fetch(`${s.poll}?c=${c2}`);
    await new Promise((r) => setTimeout(r, 30));
    expect((await post(s.poll, c2, '[["c",1000,""]]')).status).toBe(204);
    expect((await held2).status).toBe(204);
  });

  it('only the newest of several acks goes in one response', async () => {
    const clock = new ManualClock();
    const s = await server({ clock });
    const c = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    await (await fetch(`${s.poll}?c=${c}`)).json();
    const events = Array.from({ length: 200 }, (_, i) => `["e",${i + 1},"x"]`).join(',');
    await post(s.poll, c, `[${events}]`);
    clock.advance(50);
    const frames = (await (await fetch(`${s.poll}?c=${c}`)).json()) as J[];
    expect(frames).toEqual([['a', 200]]);
    await post(s.poll, c, '[["c",1000,""]]');
  });

  it('CORS: preflight and refused origin', async () => {
    const s = await server({ allowedOrigins: ['http://ok.example'] });
    const pre = await fetch(s.poll, { method: 'OPTIONS', headers: { origin: 'http://ok.example' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://ok.example');
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(pre.headers.get('access-control-allow-headers')).toBe('Content-Type');
    expect(pre.headers.get('access-control-max-age')).toBeTruthy();
    expect(pre.headers.get('cache-control')).toBe('no-store');
    const bad = await fetch(s.poll, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('access-control-allow-origin')).toBe('http://evil.example');
    expect(bad.headers.get('cache-control')).toBe('no-store');
    const good = await fetch(s.poll, { method: 'POST', headers: { origin: 'http://ok.example' } });
    expect(good.headers.get('access-control-allow-origin')).toBe('http://ok.example');
    expect(good.headers.get('vary')).toMatch(/Origin/);
    await good.text();
  });
});

describe('third batch', () => {
  async function open(options: Omit<RealtimeServerOptions<unknown>, 'server'> = {}, hello = {}) {
    const s = await server(options);
    const p = await peer(s.ws);
    const w = await p.hello(hello);
    return { ...s, p, w, session: () => [...s.rt.sessions.values()][0] };
  }
  const post = (url: string, c: string, body: string) => fetch(`${url}?c=${c}`, { method: 'POST', body });
  async function openPoll(url: string, body = '') {
    const res = await fetch(url, { method: 'POST', body });
    expect(res.status).toBe(200);
    return (await res.json()) as { c: string; b: number };
  }

  it('batches stay within a third of hello.b; a larger single frame goes alone', async () => {
    const { p, session } = await open({}, { b: 300 });
    const s = session();
    for (let i = 0; i < 20; i++) s?.send('t', 'y'.repeat(20));
    s?.send('t', 'z'.repeat(500));
    for (let i = 0; i < 21; i++) await p.next('e');
    for (const m of p.messages.slice(1)) {
      if (Array.isArray(JSON.parse(m)[0])) expect(m.length, m).toBeLessThanOrEqual(100);
    }
  });

  it('resume replay is in order (batched for a client with b)', async () => {
    const { ws, p, w, session } = await open({}, { b: 1048576 });
    for (let i = 1; i <= 50; i++) session()?.send('t', i);
    for (let i = 1; i <= 50; i++) await p.next('e');
    p.ws.terminate();
    await p.closed();
    const q = await peer(ws);
    expect((await q.hello({ resume: w.resume, ack: 10, b: 1048576 })).resumed).toBe(true);
    for (let i = 11; i <= 50; i++) expect(await q.next('e')).toEqual(['e', i, 't', i]);
  });

  it('heartbeat: every inbound frame counts, at most one ping per interval', async () => {
    const clock = new ManualClock();
    const { p } = await open({ clock, heartbeat: { intervalMs: 100, timeoutMs: 1000 } });
    clock.advance(60);
    p.send(['p', 1]);
    await p.next('o');
    clock.advance(60);
    p.send(['p', 2]);
    await p.next('o');
    expect(p.frames.filter((f) => f[0] === 'p')).toEqual([]);
    clock.advance(100);
    await p.next('p');
    clock.advance(100);
    p.send(['p', 3]);
    await p.next('o');
    expect(p.frames.filter((f) => f[0] === 'p').length).toBeLessThanOrEqual(2);
  });

  it('early frames: 128 held, more is 4400', async () => {
    let release: (() => void)[] = [];
    const s = await server({ authenticate: () => new Promise((r) => release.push(() => r('id'))) });
    const ok = await peer(s.ws);
    ok.send(['h', { v: 1, ack: 0 }]);
    for (let i = 0; i < 128; i++) ok.send(['p', i]);
    const p = await peer(s.ws);
    p.send(['h', { v: 1, ack: 0 }]);
    for (let i = 0; i < 129; i++) p.send(['p', i]);
    const closed = await p.closed();
    expect(closed.code).toBe(4400);
    for (const r of release) r();
    release = [];
    await ok.next('w');
    for (let i = 0; i < 128; i++) expect(await ok.next('o')).toEqual(['o', i]);
  });

  it('buffer overflow: 4508 attached; detached session discarded', async () => {
    const { ws, p, w, session } = await open({ maxBufferedFrames: 5 });
    const s = session();
    p.ws.terminate();
    await p.closed();
    await new Promise((r) => setTimeout(r, 30));
    for (let i = 0; i < 6; i++) s?.send('t', i);
    const q = await peer(ws);
    expect((await q.hello({ resume: w.resume })).resumed).toBe(false);
  });

  it('long poll: f = min(maxFrameBytes, maxBodyBytes - 2); opening b = maxBodyBytes', async () => {
    const s = await server({ longPoll: { maxBodyBytes: 1024 } });
    const { c, b } = await openPoll(s.poll);
    expect(b).toBe(1024);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    const w = ((await (await fetch(`${s.poll}?c=${c}`)).json()) as J[])[0]?.[1] as Record<string, unknown>;
    expect(w.f).toBe(1022);
    await post(s.poll, c, '[["c",1000,""]]');
  });

  it('long poll: a frame over maxFrameBytes in a body within maxBodyBytes: 4413 close frame', async () => {
    const s = await server({ maxFrameBytes: 1024, longPoll: { maxBodyBytes: 4096 } });
    const { c } = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    await (await fetch(`${s.poll}?c=${c}`)).json();
    const res = await post(s.poll, c, `[["e",1,"x","${'y'.repeat(1100)}"]]`);
    expect(res.status).toBe(204);
    const frames = (await (await fetch(`${s.poll}?c=${c}`)).json()) as J[];
    expect(frames.at(-1)?.slice(0, 2)).toEqual(['c', 4413]);
  });

  it('long poll: liveness after pollTimeout + 10 s forgets the id; the session waits for a resume', async () => {
    const clock = new ManualClock();
    const s = await server({ clock, longPoll: { pollTimeoutMs: 1000 } });
    const { c } = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    const w = ((await (await fetch(`${s.poll}?c=${c}`)).json()) as J[])[0]?.[1] as Record<string, unknown>;
    clock.advance(10_999);
    expect((await fetch(`${s.poll}?c=${c}`, { method: 'DELETE' })).status).toBe(204);
    const { c: c2 } = await openPoll(s.poll);
    await post(s.poll, c2, `[["h",{"v":1,"ack":0,"resume":"${w.resume as string}"}]]`);
    const w2 = ((await (await fetch(`${s.poll}?c=${c2}`)).json()) as J[])[0]?.[1] as Record<string, unknown>;
    expect(w2.resumed).toBe(true);
    clock.advance(11_001);
    expect((await fetch(`${s.poll}?c=${c2}`)).status).toBe(404);
    const p = await peer(s.ws);
    expect((await p.hello({ resume: w2.resume })).resumed).toBe(true);
  });

  it('long poll: a resume over WebSocket answers the held GET of the old connection with 404', async () => {
    const s = await server();
    const { c } = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    const w = ((await (await fetch(`${s.poll}?c=${c}`)).json()) as J[])[0]?.[1] as Record<string, unknown>;
    const held = fetch(`${s.poll}?c=${c}`);
    await new Promise((r) => setTimeout(r, 30));
    const p = await peer(s.ws);
    expect((await p.hello({ resume: w.resume })).resumed).toBe(true);
    expect((await held).status).toBe(404);
  });

  it('long poll numbered: echo in the POST answer, ack in the held GET', async () => {
    const s = await server();
    s.rt.on('connection', (session) => session.on('chat', (d: unknown) => session.send('chat', d)));
    const { c } = await openPoll(s.poll, '{"n":1}');
    const held = fetch(`${s.poll}?c=${c}`);
    await new Promise((r) => setTimeout(r, 30));
    const r1 = (await (await post(s.poll, c, '[["h",{"v":1,"ack":0}]]')).json()) as unknown[];
    expect(r1[0]).toBe(1);
    const r2 = (await (await post(s.poll, c, '[["e",1,"chat",{"t":"hi"}]]')).json()) as unknown[];
    expect(r2).toEqual([2, ['e', 1, 'chat', { t: 'hi' }]]);
    expect(await (await held).json()).toEqual([3, ['a', 1]]);
    await post(s.poll, c, '[["c",1000,""]]');
  });

  it('long poll: opening POST while shutting down gets 503', async () => {
    const s = await server();
    const { c } = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    await (await fetch(`${s.poll}?c=${c}`)).json();
    const closing = servers[0]?.close();
    const res = await fetch(s.poll, { method: 'POST' });
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const frames = (await (await fetch(`${s.poll}?c=${c}`)).json()) as J[];
    expect(frames.at(-1)?.slice(0, 2)).toEqual(['c', 1001]);
    await closing;
  });
});

describe('the reference client against a hand-written WebSocket server', () => {
  interface Conn {
    ws: WebSocket;
    frames: J[];
    messages: string[];
    closed: Promise<number>;
    next(tag: string): Promise<J>;
  }
  async function handServer(onConn: (c: Conn) => void) {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws: WebSocket) => {
      const frames: J[] = [];
      const messages: string[] = [];
      let wake: (() => void) | null = null;
      let cursor = 0;
      ws.on('message', (d: Buffer) => {
        const t = d.toString();
        messages.push(t);
        const parsed = JSON.parse(t) as J;
        if (Array.isArray(parsed[0])) for (const f of parsed) frames.push(f as J);
        else frames.push(parsed);
        wake?.();
      });
      const closed = new Promise<number>((r) => ws.on('close', (code) => (r(code), wake?.())));
      let isClosed = false;
      void closed.then(() => (isClosed = true));
      onConn({
        ws,
        frames,
        messages,
        closed,
        async next(tag) {
          const deadline = Date.now() + WAIT;
          for (;;) {
            while (cursor < frames.length) {
              const f = frames[cursor++] as J;
              if (f[0] === tag) return f;
            }
            if (isClosed || Date.now() > deadline) throw new Error(`no ${tag}`);
            await new Promise<void>((r) => {
              const t = setTimeout(r, 100);
              wake = () => (clearTimeout(t), r());
            });
          }
        },
      });
    });
    const { port } = wss.address() as AddressInfo;
    servers.push({
      http: createServer(),
      close: async () => {
        for (const c of wss.clients) c.terminate();
        await new Promise((r) => wss.close(r));
      },
    });
    return `ws://127.0.0.1:${port}/rt`;
  }
  async function client(url: string, extra: Record<string, unknown> = {}) {
    const { RealtimeClient } = await import('../../src/index.js');
    const { LOOPBACK_CLIENT } = await import('../helpers/servers.js');
    const c = new RealtimeClient<Record<string, unknown>, Record<string, unknown>>(url, {
      ...LOOPBACK_CLIENT,
      transports: ['websocket'],
      ...extra,
    });
    c.on('error', () => {});
    clientsToClose.push(c);
    return c;
  }
  const clientsToClose: { close(): unknown }[] = [];
  afterEach(() => {
    for (const c of clientsToClose.splice(0)) c.close();
  });
  const welcome = (extra: Record<string, unknown> = {}) =>
    JSON.stringify([
      'w',
      { v: 1, sid: 's', resume: 'r'.repeat(24), resumed: false, ack: 0, hb: [20000, 10000], ...extra },
    ]);

  it('hello is alone and as written; no batches to a server without b; close sends c 1000', async () => {
    const conns: Conn[] = [];
    const url = await handServer((c) => conns.push(c));
    const cl = await client(url);
    await until(() => conns.length === 1);
    const s = conns[0] as Conn;
    const h = await s.next('h');
    expect(h).toEqual(['h', { v: 1, ack: 0, b: 1048576 }]);
    s.ws.send(welcome());
    await until(() => cl.state === 'open');
    for (let i = 0; i < 5; i++) cl.send('x', i);
    for (let i = 0; i < 5; i++) expect(await s.next('e')).toEqual(['e', i + 1, 'x', i]);
    expect(s.messages.every((m) => !Array.isArray(JSON.parse(m)[0]))).toBe(true);
    cl.close();
    expect((await s.next('c')).slice(0, 2)).toEqual(['c', 1000]);
  });

  // "On any of them the receiver sends ["c",code,reason], then closes the transport" (Bad input),
  // in the handshake too: "A client that gets a welcome whose v differs from its hello.v closes with 4426".
  for (const [name, frames, code] of [
    ['welcome v 2', [welcome({ v: 2 })], 4426],
    ['hb not integers', [welcome({ hb: [1.5, 10] })], 4400],
    ['reserved event name', [welcome(), '["e",1,"open"]'], 4400],
    ['gap', [welcome(), '["e",2,"x"]'], 4400],
    ['q from the server', [welcome(), '["q",1,1,"x"]'], 4400],
    ['ack beyond sent', [welcome(), '["a",1]'], 4400],
    ['second welcome', [welcome(), welcome()], 4400],
    ['close without reason', [welcome(), '["c",4000]'], 4400],
    ['r with ok flag true', [welcome(), '["r",1,1,true]'], 4400],
    ['frame before welcome', ['["e",1,"x"]'], 4400],
    ['oversize welcome', [welcome({ x: 'y'.repeat(1048576) })], 4413],
  ] as const) {
    it(`the client refuses with a close frame: ${name} (${code})`, async () => {
      const conns: Conn[] = [];
      const url = await handServer((c) => conns.push(c));
      const errors: number[] = [];
      const cl = await client(url, { reconnect: false });
      cl.on('error', (e) => errors.push((e as { closeCode?: number }).closeCode ?? 0));
      await until(() => conns.length === 1);
      const s = conns[0] as Conn;
      await s.next('h');
      for (const f of frames) s.ws.send(f);
      const wsCode = await s.closed;
      expect({ frames: s.frames.slice(1), wsCode, reported: errors[0] }).toEqual({
        frames: [['c', code, expect.any(String)]],
        wsCode: code,
        reported: code,
      });
    });
  }

  it('a resumed welcome that acks more than was sent: close frame 4400, and the next hello starts anew', async () => {
    const conns: Conn[] = [];
    const url = await handServer((c) => conns.push(c));
    const cl = await client(url);
    await until(() => conns.length === 1);
    const first = conns[0] as Conn;
    await first.next('h');
    first.ws.send(welcome());
    await until(() => cl.state === 'open');
    first.ws.terminate();
    await until(() => conns.length === 2);
    const second = conns[1] as Conn;
    expect(((await second.next('h'))[1] as { resume?: string }).resume).toBe('r'.repeat(24));
    second.ws.send(welcome({ resumed: true, ack: 3 }));
    expect((await second.next('c')).slice(0, 2)).toEqual(['c', 4400]);
    await until(() => conns.length === 3);
    expect(((await (conns[2] as Conn).next('h'))[1] as { resume?: string }).resume).toBeUndefined();
  });

  it('the client acks a duplicate, answers pings, accepts a 123-unit reason, and ignores an unknown response id', async () => {
    const conns: Conn[] = [];
    const url = await handServer((c) => conns.push(c));
    const closes: { code: number; reason: string }[] = [];
    const cl = await client(url, { reconnect: false });
    cl.on('close', (e) => closes.push(e));
    await until(() => conns.length === 1);
    const s = conns[0] as Conn;
    await s.next('h');
    s.ws.send(welcome());
    s.ws.send('["e",1,"x",1]');
    s.ws.send('["e",1,"x",1]');
    s.ws.send('["r",2,99,1,"late"]');
    s.ws.send('["p",-7.5]');
    expect(await s.next('o')).toEqual(['o', -7.5]);
    expect(await s.next('a')).toEqual(['a', 2]);
    s.ws.send(JSON.stringify(['c', 4401, '€'.repeat(123)]));
    await until(() => closes.length > 0);
    expect(closes[0]?.code).toBe(4401);
    void cl;
  });

  it('the client ignores an hb interval of 0 and keeps every frame within welcome.f', async () => {
    const conns: Conn[] = [];
    const url = await handServer((c) => conns.push(c));
    const cl = await client(url, { heartbeat: { intervalMs: 20_000 } });
    await until(() => conns.length === 1);
    const s = conns[0] as Conn;
    await s.next('h');
    s.ws.send(welcome({ hb: [0, 0], f: 100 }));
    await until(() => cl.state === 'open');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.frames.filter((f) => f[0] === 'p')).toEqual([]);
    expect(() => cl.send('x', 'y'.repeat(60))).toThrow(/100|large|limit/i);
    cl.send('x', 'y'.repeat(10));
    expect(await s.next('e')).toEqual(['e', 1, 'x', 'y'.repeat(10)]);
    expect(cl.state).toBe('open');
  });

  it('the client takes frames and batches with whitespace around and inside', async () => {
    const conns: Conn[] = [];
    const url = await handServer((c) => conns.push(c));
    const cl = await client(url);
    const got: unknown[] = [];
    cl.on('x' as never, (d: unknown) => got.push(d));
    await until(() => conns.length === 1);
    const s = conns[0] as Conn;
    await s.next('h');
    s.ws.send(`\n ${welcome({ b: 1048576 }).replace(/,/g, ' ,\n ')} \t`);
    await until(() => cl.state === 'open');
    s.ws.send(' [ "e" , 1 , "x" , 1 ] ');
    s.ws.send('\n[ [ "e" , 2 , "x" , 2 ] ,\r\n [ "e" , 3 , "x" , 3 ] ]\n');
    s.ws.send('[\t["e",4,"x",4]]');
    await until(() => got.length === 4);
    expect(got).toEqual([1, 2, 3, 4]);
    expect(cl.state).toBe('open');
  });

  it('long polling: the client takes numbered bodies and an opening answer with whitespace', async () => {
    const held: import('node:http').ServerResponse[] = [];
    const posts: string[] = [];
    let gets = 0;
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.setHeader('cache-control', 'no-store');
        if (req.method === 'POST' && !req.url?.includes('c='))
          return res.end(' { "c" : "abcdefghijklmnopqrstuv" , "b" : 1048576 } ');
        if (req.method === 'POST') {
          posts.push(body);
          if (body.includes('"h"')) return res.end(`\n [ 1 ,\n ${welcome()} ] `);
          return res.writeHead(204).end();
        }
        if (req.method === 'GET' && ++gets === 1) return res.end(' [ 2 , [ "e" , 1 , "x" , 7 ] ] ');
        held.push(res);
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    servers.push({
      http,
      close: async () => {
        for (const r of held) r.end('[]');
      },
    });
    const { port } = http.address() as AddressInfo;
    const cl = await client(`ws://127.0.0.1:${port}/rt`, { transports: ['longpoll'] });
    const got: unknown[] = [];
    cl.on('x' as never, (d: unknown) => got.push(d));
    await until(() => got.length === 1);
    expect(got).toEqual([7]);
    expect(cl.state).toBe('open');
  });

  it('the client retries a WebSocket 1000 without a close frame', async () => {
    const conns: Conn[] = [];
    const url = await handServer((c) => conns.push(c));
    const cl = await client(url);
    await until(() => conns.length === 1);
    const s = conns[0] as Conn;
    await s.next('h');
    s.ws.send(welcome());
    await until(() => cl.state === 'open');
    s.ws.close(1000);
    await until(() => conns.length === 2);
    const h = await (conns[1] as Conn).next('h');
    expect((h[1] as { resume: string }).resume).toBe('r'.repeat(24));
  });
});

describe('fourth batch', () => {
  const post = (url: string, c: string, body: string) => fetch(`${url}?c=${c}`, { method: 'POST', body });
  async function openPoll(url: string, body = '') {
    const res = await fetch(url, { method: 'POST', body });
    expect(res.status).toBe(200);
    return ((await res.json()) as { c: string }).c;
  }

  it('handshake checks run in the documented order', async () => {
    const { ws } = await server({ authenticate: (t) => (t === 'ok' ? 'id' : false), maxSessions: 1 });
    await refused(ws, '["h",{"v":2,"ack":-1}]', 4400);
    await refused(ws, '["h",{"v":2,"ack":0,"auth":"bad"}]', 4426);
    const a = await peer(ws);
    const w = await a.hello({ auth: 'ok' });
    await refused(ws, `["h",{"v":1,"ack":5,"auth":"bad","resume":"${w.resume as string}"}]`, 4401);
    await refused(ws, `["h",{"v":1,"ack":5,"auth":"ok","resume":"${w.resume as string}"}]`, 4400);
  });

  it('long poll: GET held 25 s by default, POST after the close frame 204 for 10 s then 404', async () => {
    const clock = new ManualClock();
    const s = await server({ clock, heartbeat: { intervalMs: 60_000 } });
    const c = await openPoll(s.poll);
    await post(s.poll, c, '[["h",{"v":1,"ack":0}]]');
    await (await fetch(`${s.poll}?c=${c}`)).json();
    let answered = false;
    const held = fetch(`${s.poll}?c=${c}`).then(async (r) => ((answered = true), await r.json()));
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(24_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    clock.advance(1);
    expect(await held).toEqual([]);
    await post(s.poll, c, '[["zz"]]');
    const frames = (await (await fetch(`${s.poll}?c=${c}`)).json()) as J[];
    expect(frames.at(-1)?.slice(0, 2)).toEqual(['c', 4400]);
    clock.advance(9_999);
    expect((await post(s.poll, c, '[["e",1,"x"]]')).status).toBe(204);
    clock.advance(2);
    expect((await post(s.poll, c, '[["e",1,"x"]]')).status).toBe(404);
  });

  it('long poll: a batch inside a body is processed; query kept; HEAD is 405', async () => {
    const s = await server();
    const c = await openPoll(`${s.poll}?room=a`);
    await fetch(`${s.poll}?room=a&c=${c}`, { method: 'POST', body: '[["h",{"v":1,"ack":0}]]' });
    await (await fetch(`${s.poll}?c=${c}&room=a`)).json();
    // A batch in a body element: the reference server processes it as on WebSocket (PROTOCOL.md, Batches).
    await post(s.poll, c, '[[["e",1,"x"]]]');
    expect((await (await fetch(`${s.poll}?c=${c}`)).json()) as J[]).toEqual([['a', 1]]);
    const head = await fetch(`${s.poll}?c=${c}`, { method: 'HEAD' });
    expect(head.status).toBe(405);
  });

  it('server frame too large for the client: send() throws, a response becomes HANDLER_ERROR', async () => {
    const s = await server();
    s.rt.handle('big', () => 'x'.repeat(1_048_576));
    const p = await peer(s.ws);
    await p.hello();
    const session = [...s.rt.sessions.values()][0];
    expect(() => session?.send('t', 'x'.repeat(1_048_576))).toThrow();
    p.send(['q', 1, 1, 'big']);
    const r = await p.next('r');
    expect(r.slice(2, 4)).toEqual([1, 0]);
    expect((r[4] as { code: string }).code).toBe('HANDLER_ERROR');
  });
});

describe('fifth batch', () => {
  it('a client close frame with any code 1000…4999 ends the connection cleanly, the session as documented', async () => {
    const s = await server();
    const errors: unknown[] = [];
    process.on('uncaughtException', (e) => errors.push(e));
    try {
      for (const code of [1001, 1004, 1005, 1006, 1015, 2000, 2999, 3000, 4999]) {
        const p = await peer(s.ws);
        const w = await p.hello();
        p.send(['c', code, 'x']);
        const closed = await p.closed();
        expect(p.closeFrame(), String(code)).toBeUndefined();
        expect([1000, code], String(code)).toContain(closed.code);
        const q = await peer(s.ws);
        expect((await q.hello({ resume: w.resume })).resumed, String(code)).toBe(true);
        q.send(['c', 1000, '']);
        await q.closed();
      }
    } finally {
      process.removeAllListeners('uncaughtException');
    }
    expect(errors).toEqual([]);
  });

  it('early frames over one message in all: 4400', async () => {
    let release: (() => void) | undefined;
    const s = await server({ maxFrameBytes: 1024, authenticate: () => new Promise((r) => (release = () => r('id'))) });
    const p = await peer(s.ws);
    p.send(['h', { v: 1, ack: 0 }]);
    for (let i = 1; i <= 5; i++) p.send(['e', i, 'x', 'y'.repeat(250)]);
    expect((await p.closed()).code).toBe(4400);
    release?.();
  });

  it('server session.close with 1011 and 1000', async () => {
    const s = await server();
    for (const code of [1011, 1000, 4000]) {
      const p = await peer(s.ws);
      await p.hello();
      [...s.rt.sessions.values()].at(-1)?.close(code, 'bye');
      const closed = await p.closed();
      expect(p.closeFrame()?.slice(0, 2)).toEqual(['c', code]);
      expect(closed.code).toBe(code);
    }
  });
});

describe('sixth batch', () => {
  it('reserved names: server send throws; a request named like one', async () => {
    const s = await server();
    const p = await peer(s.ws);
    await p.hello();
    const session = [...s.rt.sessions.values()][0];
    expect(() => session?.send('open' as never, 1)).toThrow();
    expect(() => s.rt.broadcast('queue:overflow' as never, 1)).toThrow();
    // The reserved names are event names: a request may be called `open` (no handler here).
    p.send(['q', 1, 1, 'open']);
    expect(((await p.next('r'))[4] as { code: string }).code).toBe('NO_HANDLER');
  });

  it('the 50 ms ack timer is not restarted by an ack for the count', async () => {
    const clock = new ManualClock();
    const s = await server({ clock });
    const p = await peer(s.ws);
    await p.hello({ b: 1048576 });
    const sync = async (ts: number) => (p.send(['p', ts]), await p.next('o'));
    p.send(['e', 1, 'x']);
    await sync(1);
    clock.advance(10);
    p.send(Array.from({ length: 63 }, (_, i) => ['e', i + 2, 'x']));
    expect(await p.next('a')).toEqual(['a', 64]);
    clock.advance(10);
    p.send(['e', 65, 'x']);
    await sync(2);
    clock.advance(30);
    expect(await p.next('a')).toEqual(['a', 65]);
  });

  it('server batches hold at most 65 536 code units', async () => {
    const s = await server();
    const p = await peer(s.ws);
    await p.hello({ b: 1048576 * 8 });
    const session = [...s.rt.sessions.values()][0];
    for (let i = 0; i < 40; i++) session?.send('t', 'y'.repeat(10_000));
    for (let i = 0; i < 40; i++) await p.next('e');
    for (const m of p.messages.slice(1))
      if (Array.isArray(JSON.parse(m)[0])) expect(m.length).toBeLessThanOrEqual(65_536);
  });
});

describe('whitespace is allowed around and inside the JSON', () => {
  it('server: frames and batches with whitespace, on WebSocket and in long-polling bodies', async () => {
    const got: unknown[] = [];
    const s = await server();
    s.rt.on('connection', (session) => session.on('x', (d: unknown) => got.push(d)));
    const p = await peer(s.ws);
    p.sendText(' \n[ "h" , { "v" : 1 , "ack" : 0 , "b" : 1048576 } ]\t');
    await p.next('w');
    p.sendText(' [ "e" , 1 , "x" , 1 ] ');
    p.sendText('\n[ [ "e" , 2 , "x" , 2 ] ,\n [ "e" , 3 , "x" , 3 ] ]\n');
    p.sendText('[\r\n["e",4,"x",4]]');
    p.send(['p', 1]);
    await p.next('o');
    expect(got).toEqual([1, 2, 3, 4]);
    expect(p.closeInfo).toBeNull();

    const opened = await fetch(s.poll, { method: 'POST', body: ' { "n" : 1 } ' });
    const { c } = (await opened.json()) as { c: string };
    const res = await fetch(`${s.poll}?c=${c}`, { method: 'POST', body: ' [ [ "h" , { "v" : 1 , "ack" : 0 } ] ]\n' });
    const body = (await res.json()) as unknown[];
    expect(body[0]).toBe(1);
    const res2 = await fetch(`${s.poll}?c=${c}`, {
      method: 'POST',
      body: '\n[ [ "e" , 1 , "x" , "a" ] ,\n\t[ "e" , 2 , "x" , "]b[" ] ]',
    });
    expect(res2.status).toBeLessThan(300);
    await res2.text();
    expect(got.slice(4)).toEqual(['a', ']b[']);
  });
});

describe('close code literals', () => {
  it('the server takes 1e3 and 1000.0 as the close code 1000, and refuses 1000.5', async () => {
    const s = await server();
    for (const [text, ends] of [
      ['["c",1e3,""]', true],
      ['["c",1000.0,""]', true],
      ['["c",1000.5,""]', false],
    ] as const) {
      const p = await peer(s.ws);
      const w = await p.hello();
      p.sendText(text);
      const closed = await p.closed();
      if (!ends) expect(closed.code, text).toBe(4400);
      const q = await peer(s.ws);
      expect((await q.hello({ resume: w.resume })).resumed, text).toBe(false); // 1000 ends it, 4400 discards it
    }
  });
});

describe('a refused resume leaves the session as it was', () => {
  it('the attached connection keeps working after a resume refused for its ack or its identity', async () => {
    const s = await server({ authenticate: (t) => t ?? false });
    const a = await peer(s.ws);
    const w = await a.hello({ auth: 'alice' });
    const session = [...s.rt.sessions.values()][0];
    session?.send('t', 1);
    await a.next('e');
    const b = await peer(s.ws);
    b.send(['h', { v: 1, ack: 9, auth: 'alice', resume: w.resume }]);
    expect((await b.closed()).code).toBe(4400);
    const c = await peer(s.ws);
    expect((await c.hello({ auth: 'bob', resume: w.resume })).resumed).toBe(false);
    session?.send('t', 2);
    expect(await a.next('e')).toEqual(['e', 2, 't', 2]);
    a.send(['p', 1]);
    expect(await a.next('o')).toEqual(['o', 1]);
    expect(a.closeInfo).toBeNull();
  });
});
