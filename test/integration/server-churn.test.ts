/**
 * Churn on each endpoint: about a hundred peers per transport open sessions, exchange events and
 * requests, then vanish in every way a real client can (close, a TCP reset while a request runs,
 * a message cut off half way, a peer that stops reading, a handshake never finished, refused, or
 * whose `authenticate` never answers). Once the server's timers ran out (a ManualClock: handshake
 * timeout, heartbeat, long-polling idle timeout, grace period), the server is back where it
 * started: no session, no timer, no open socket, no extra listener on the http.Server.
 */
import { request } from 'node:http';
import type { Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { TransportName } from '../../src/transports/transport.js';
import { until, useHarness } from '../helpers/harness.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { openPeer } from '../helpers/raw-peers.js';
import type { PeerTransport, RawPeer } from '../helpers/raw-peers.js';
import { LOOPBACK_CLIENT } from '../helpers/servers.js';

type Events = { x: number; b: string };

const { server, defer } = useHarness<Events, Events>();

const MODES = [
  'client', // a RealtimeClient that sends, requests and close()s
  'close',
  'reset',
  'midMessage',
  'stopReading',
  'noHello',
  'authRefused',
  'authHangs',
] as const;
type Mode = (typeof MODES)[number];
/** 8 modes × 12 = 96 peers per transport. */
const PER_MODE = 12;
/** Just above the peers of one transport, all of which may be in their handshake at once. */
const MAX_HANDSHAKES = 100;
/** Modes whose session is still there, connected or waiting for its grace period, when they vanished. */
const LINGERING: readonly Mode[] = ['reset', 'midMessage', 'stopReading'];

/** One HTTP exchange on a socket of its own: status and body. */
function exchange(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function openConnections(http: Server): Promise<number> {
  return new Promise((resolve, reject) => http.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

/** Listener counts of every event of the http.Server. */
function listenerCounts(http: Server): Record<string, number> {
  return Object.fromEntries(http.eventNames().map((name) => [String(name), http.listenerCount(name)]));
}

/** Runs one peer through `mode`; its request `slow` is still running when it vanishes. */
async function churn(peer: RawPeer, mode: Mode, n: number): Promise<void> {
  if (mode === 'noHello') return;
  if (mode === 'authRefused' || mode === 'authHangs') return peer.hello({ auth: mode });
  await peer.hello({ auth: 'ok' });
  await peer.welcome();
  await peer.send(['e', 1, 'x', n], ['q', 2, 1, 'echo', n], ['q', 3, 2, 'slow', n]);
  await until(() => peer.frames.some((f) => Array.isArray(f) && f[0] === 'r' && f[2] === 1));
  if (mode === 'close') return peer.send(['c', 1000, 'bye']);
  if (mode === 'reset') return peer.reset();
  if (mode === 'midMessage') return peer.resetMidMessage();
  peer.stopReading();
}

async function churnClient(url: string, transport: TransportName, n: number): Promise<void> {
  const c = new RealtimeClient<Events, Events>(url, {
    ...LOOPBACK_CLIENT,
    transports: [transport],
    upgrade: false,
    rememberTransport: false,
  });
  defer(() => c.close());
  await c.waitFor('open', { timeoutMs: 8000 });
  c.send('x', n);
  expect(await c.request('echo', n)).toBe(n);
  c.close();
}

describe('churn: every endpoint is back at its baseline once its peers vanished', () => {
  for (const transport of ['websocket', 'longpoll', 'sockjs'] as const satisfies readonly PeerTransport[]) {
    it(`${transport}: ${MODES.length * PER_MODE} peers`, async () => {
      const clock = new ManualClock();
      let releaseSlow: () => void = () => {};
      const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
      const s = await server({
        clock,
        sessionGraceMs: 1000,
        handshakeTimeoutMs: 1000,
        maxHandshakes: MAX_HANDSHAKES,
        authenticate: (token) =>
          token === 'authRefused' ? false : token === 'authHangs' ? new Promise<never>(() => {}) : 'user',
      });
      const baseline = listenerCounts(s.http);
      let events = 0;
      let opened = 0;
      let ended = 0;
      s.rt.on('connection', (session) => {
        opened++;
        session.on('x', () => events++);
        session.on('end', () => ended++);
      });
      s.rt.handle('echo', (data) => data);
      s.rt.handle('slow', async (data) => {
        await slow;
        return data;
      });
      const base = `http://127.0.0.1:${s.port}/realtime`;
      await Promise.all(
        Array.from({ length: MODES.length * PER_MODE }, async (_, n) => {
          const mode = MODES[n % MODES.length] as Mode;
          if (mode === 'client') return churnClient(s.url, transport, n);
          const peer = await openPeer(transport, base);
          defer(() => peer.destroy());
          await churn(peer, mode, n);
        }),
      );
      const live = LINGERING.length * PER_MODE;
      expect(opened).toBe(live + 2 * PER_MODE); // plus 'client' and 'close'
      expect(events).toBe(opened);
      await until(() => s.rt.sessions.size === live);
      s.rt.broadcast('b', 'x'.repeat(10_000)); // goes to the peers that stopped reading too
      releaseSlow(); // their responses go to sessions that lost their connection

      // Handshake timeout, heartbeat (20 s + 10 s), long-polling idle timeout (35 s), grace period.
      for (let step = 0; step < 10 && (s.rt.sessions.size > 0 || clock.pending > 0); step++) {
        clock.advance(10_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(s.rt.sessions.size).toBe(0);
      expect(ended).toBe(opened);
      expect(clock.pending).toBe(0);
      // sockjs forgets a session 5 s after its last request (its own timer); Node closes idle
      // keep-alive sockets after 5 s.
      let open = -1;
      await until(() => {
        void openConnections(s.http).then((n) => (open = n));
        return open === 0;
      }, 15_000);
      expect(listenerCounts(s.http)).toEqual(baseline);

      // Every handshake was counted out, however it ended: maxHandshakes may start at once again.
      const fresh = await Promise.all(Array.from({ length: MAX_HANDSHAKES }, () => openPeer(transport, base)));
      for (const peer of fresh) defer(() => peer.destroy());
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fresh.filter((peer) => peer.frames.some((f) => Array.isArray(f) && f[0] === 'c'))).toEqual([]);
    }, 30_000);
  }
});

describe('churn on long polling: ids of vanished clients, and close() with many GETs held', () => {
  it('forgets a client that vanished while its GET was held after pollTimeoutMs + idleGraceMs, not before', async () => {
    const clock = new ManualClock();
    // A heartbeat slower than the idle timeout, so it is the endpoint that notices.
    const s = await server({ clock, sessionGraceMs: 1000, heartbeat: { intervalMs: 60_000, timeoutMs: 60_000 } });
    const base = `http://127.0.0.1:${s.port}/realtime`;
    const peers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const peer = await openPeer('longpoll', base);
        defer(() => peer.destroy());
        await peer.hello();
        await peer.welcome();
        return peer;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // each peer's next GET is held
    for (const peer of peers) peer.reset();
    let open = -1;
    await until(() => {
      void openConnections(s.http).then((n) => (open = n));
      return open === 0;
    });
    clock.advance(35_000 - 1); // the defaults: 25 s poll timeout + 10 s idle grace
    expect([...s.rt.sessions.values()].filter((x) => x.connected)).toHaveLength(50);
    clock.advance(1);
    expect([...s.rt.sessions.values()].filter((x) => x.connected)).toHaveLength(0);
    clock.advance(1000);
    expect(s.rt.sessions.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('close() with 150 GETs held answers each with 1001 and leaves no session, timer, socket or listener', async () => {
    const clock = new ManualClock();
    const s = await server({ clock });
    const baseline = listenerCounts(s.http);
    const base = `http://127.0.0.1:${s.port}/realtime`;
    const open = async (hello: boolean): Promise<RawPeer> => {
      const peer = await openPeer('longpoll', base);
      defer(() => peer.destroy());
      if (hello) {
        await peer.hello();
        await peer.welcome();
      }
      return peer;
    };
    const holding = await Promise.all(Array.from({ length: 150 }, (_, i) => open(i % 5 !== 0))); // 30 without hello
    const vanished = await Promise.all(Array.from({ length: 20 }, () => open(true)));
    for (const peer of vanished) peer.reset();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.rt.sessions.size).toBe(120 + 20);

    let closed = false;
    const closing = s.rt.close().then(() => (closed = true));
    const goingAway = (peer: RawPeer): boolean =>
      peer.frames.some((f) => Array.isArray(f) && f[0] === 'c' && f[1] === 1001);
    await until(() => holding.every(goingAway));
    expect(s.rt.sessions.size).toBe(0);
    // The 20 that vanished never collect their close frame: close() ends them after its 2 s wait.
    expect(closed).toBe(false);
    clock.advance(2_000);
    await closing;
    expect(clock.pending).toBe(0);
    let sockets = -1;
    await until(() => {
      void openConnections(s.http).then((n) => (sockets = n));
      return sockets === 0;
    }, 15_000);
    expect(s.http.listenerCount('upgrade')).toBe(0);
    // The http server had no request listener before the endpoints' interceptor (one): none is left.
    expect(baseline.request).toBe(1);
    expect(s.http.listenerCount('request')).toBe(0);
  }, 30_000);

  it('a session closed between two GETs: its last frames wait 5 s for a GET, its close frame until the idle timeout', async () => {
    const clock = new ManualClock();
    const s = await server({ clock, sessionGraceMs: 1000 });
    const poll = `http://127.0.0.1:${s.port}/realtime/poll`;
    const open = async (): Promise<string> => {
      const { c } = JSON.parse((await exchange(poll, 'POST', '')).body) as { c: string };
      const url = `${poll}?c=${c}`;
      await exchange(url, 'POST', '[["h",{"v":1,"ack":0}]]');
      expect((await exchange(url, 'GET')).body).toMatch(/^\[\["w",/);
      return url;
    };
    const prompt = await open();
    const late = await open(); // a client that vanished, or one on a very slow network
    expect(s.rt.sessions.size).toBe(2);
    for (const session of s.rt.sessions.values()) {
      session.send('b', 'last words');
      session.close(4000, 'kicked');
    }
    // The session kept no copy of its frames once it ended: the connection's are the last.
    const words = ['e', 1, 'b', 'last words'];
    expect(JSON.parse((await exchange(prompt, 'GET')).body)).toEqual([words, ['c', 4000, 'kicked']]);
    clock.advance(5_000);
    expect(JSON.parse((await exchange(late, 'GET')).body)).toEqual([['c', 4000, 'kicked']]);
    expect((await exchange(late, 'GET')).status).toBe(404);
    expect((await exchange(prompt, 'GET')).status).toBe(404);
    expect(clock.pending).toBe(0);
  });
});
