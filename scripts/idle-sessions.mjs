#!/usr/bin/env node
/**
 * What idle sessions cost a server process: heap per session after forced GC, active timers and
 * handles per session (`process.getActiveResourcesInfo()`), event-loop utilisation over an idle
 * window, one 10 kB broadcast (each client counts it once, then acknowledges it), and what is
 * left once every client left and the grace period ran out. Surelink on each transport against a
 * plain `ws` server and a socket.io server (websocket transport), same clients count, same run.
 * The server runs in a child process (`--expose-gc`); the clients here are raw (`ws`, `node:http`),
 * speaking the least of each protocol. Loopback only, the built dist/. Prints one JSON line per
 * run, then a Markdown table. Heap is V8's `heapUsed` delta; ELU is a ratio, never a time.
 *
 *   npm run build && node scripts/idle-sessions.mjs [kind:transport:N ...] [--elu MS]
 *
 * kind: surelink | ws | socketio; transport (surelink): websocket | longpoll | sockjs. Default: the
 * three WebSocket servers at 2000 and 5000 clients (idle window at 5000), HTTP transports at 300.
 */
import { fork } from 'node:child_process';
import { createServer, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';

const HEARTBEAT_MS = 20_000; // surelink's default heartbeat.intervalMs: one ping per idle session
const SOCKETIO_PING_MS = 25_000; // socket.io's default pingInterval
const GRACE_MS = 1000; // sessionGraceMs: short, so the end state is reached quickly
const BROADCAST_CHARS = 10_000;
const OPENING_AT_ONCE = 50;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- server (child process)

async function serve(kind) {
  const http = createServer();
  let server;
  if (kind === 'surelink') {
    const { createRealtimeServer } = await import('../dist/server.js');
    const rt = createRealtimeServer({ server: http, path: '/realtime', sessionGraceMs: GRACE_MS });
    server = { broadcast: (e, d) => rt.broadcast(e, d), sessions: () => rt.sessions.size, close: () => rt.close() };
  } else if (kind === 'ws') {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    http.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', () => {});
        ws.on('error', () => {});
      }),
    );
    server = {
      broadcast: (e, d) => {
        const text = JSON.stringify([e, d]);
        for (const ws of wss.clients) ws.send(text);
      },
      sessions: () => wss.clients.size,
    };
  } else {
    const { Server } = await import('socket.io');
    const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false });
    server = { broadcast: (e, d) => io.emit(e, d), sessions: () => io.engine.clientsCount };
  }
  const measure = () => {
    for (let i = 0; i < 4; i++) globalThis.gc();
    const resources = {};
    for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1;
    return { heap: process.memoryUsage().heapUsed, resources, sessions: server.sessions() };
  };
  const commands = {
    measure,
    async elu({ ms }) {
      const start = performance.eventLoopUtilization();
      await pause(ms);
      return performance.eventLoopUtilization(start).utilization;
    },
    broadcast: ({ chars }) => server.broadcast('big', 'x'.repeat(chars)),
    async stop() {
      await server.close?.();
      process.exit(0);
    },
  };
  process.on('message', async (m) => process.send({ result: (await commands[m.cmd](m)) ?? null }));
  process.on('disconnect', () => process.exit(0));
  http.listen(0, '127.0.0.1', () => process.send({ port: http.address().port }));
}

// ---------------------------------------------------------------- clients and driver

/** Counts what the clients saw: events (the broadcast) and pings, with when they arrived. */
const seen = { events: 0, pings: 0 };

/** One exchange on a socket of its own: the body, '' when it failed; `.req` is the request. */
function exchange(url, method, body) {
  let req;
  const done = new Promise((resolve) => {
    req = request(url, { method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? text : ''));
      res.on('error', () => resolve(''));
    });
    req.on('error', () => resolve(''));
    req.end(body);
  });
  return Object.assign(done, { req });
}

/** Surelink frames from the server: events acknowledged, pings answered. */
function onFrames(frames, send) {
  for (const f of frames) {
    if (f[0] === 'e') {
      seen.events++;
      send(['a', f[1]]);
    } else if (f[0] === 'p') {
      seen.pings++;
      send(['o', f[1]]);
    }
  }
}

const HELLO = ['h', { v: 1, ack: 0 }];

/** Each opener resolves, once the client is in (welcome, socket.io's CONNECT), with its closer. */
const openers = {
  ws: (port) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      ws.on('open', () => resolve(() => ws.close()));
      ws.on('message', () => seen.events++);
      ws.on('error', reject);
    }),
  socketio: (port) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
        perMessageDeflate: false,
      });
      ws.on('message', (data) => {
        const text = String(data);
        if (text[0] === '0') ws.send('40');
        else if (text.startsWith('40')) resolve(() => ws.close());
        else if (text === '2') {
          seen.pings++;
          ws.send('3');
        } else if (text.startsWith('42')) seen.events++;
      });
      ws.on('error', reject);
    }),
  websocket: (port) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/realtime`, { perMessageDeflate: false });
      const send = (f) => ws.send(JSON.stringify(f));
      ws.on('open', () => send(HELLO));
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame[0] === 'w') resolve(() => (send(['c', 1000, '']), ws.close()));
        else onFrames([frame], send);
      });
      ws.on('error', reject);
    }),
  async longpoll(port) {
    const base = `http://127.0.0.1:${port}/realtime/poll`;
    const url = `${base}?c=${JSON.parse(await exchange(base, 'POST', '')).c}`;
    const send = (f) => void exchange(url, 'POST', JSON.stringify([f]));
    let polling = true;
    let held;
    let welcomed;
    const welcome = new Promise((resolve) => (welcomed = resolve));
    void (async () => {
      while (polling) {
        const reply = exchange(url, 'GET');
        held = reply.req;
        const body = await reply;
        if (!body) return;
        const frames = JSON.parse(body);
        if (frames.some((f) => f[0] === 'w')) welcomed();
        onFrames(frames, send);
      }
    })();
    await exchange(url, 'POST', JSON.stringify([HELLO]));
    await welcome;
    return () => {
      polling = false;
      void exchange(url, 'POST', JSON.stringify([['c', 1000, '']])).then(() => held.destroy());
    };
  },
  async sockjs(port) {
    const session = `http://127.0.0.1:${port}/realtime/sockjs/000/${Math.random().toString(36).slice(2)}`;
    const send = (f) => void exchange(`${session}/xhr_send`, 'POST', JSON.stringify([JSON.stringify(f)]));
    let welcomed;
    const welcome = new Promise((resolve) => (welcomed = resolve));
    const stream = request(`${session}/xhr_streaming`, { method: 'POST', agent: false });
    stream.on('error', () => {});
    stream.on('response', (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('error', () => {});
      res.on('data', (chunk) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === 'o') send(HELLO);
          if (!line.startsWith('a')) continue;
          const frames = JSON.parse(line.slice(1)).map((text) => JSON.parse(text));
          if (frames.some((f) => f[0] === 'w')) welcomed();
          onFrames(frames, send);
        }
      });
    });
    stream.end();
    await welcome;
    return () => (send(['c', 1000, '']), setTimeout(() => stream.destroy(), 500));
  },
};

async function run(kind, transport, n, eluMs) {
  const child = fork(new URL(import.meta.url), ['--server', kind], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = [];
  child.on('message', (m) => waiting.shift()?.(m));
  const ask = (cmd, args = {}) =>
    new Promise((resolve) => {
      waiting.push((m) => resolve(m.result));
      child.send({ cmd, ...args });
    });
  const { port } = await new Promise((resolve) => waiting.push(resolve));
  const open = () => openers[kind === 'surelink' ? transport : kind](port);
  // sockjs forgets a session 5 s after its last request; long polling has its own timers
  const settleMs = kind !== 'surelink' ? 1500 : transport === 'websocket' ? GRACE_MS + 2000 : 7000;
  // Warm-up: first use compiles code and fills caches in the server's heap, not a session's cost.
  const warm = [];
  for (let i = 0; i < 50; i++) warm.push(await open());
  await ask('broadcast', { chars: 10 });
  await pause(300);
  for (const close of warm) close();
  await pause(settleMs);
  const base = await ask('measure');

  const closers = [];
  const welcomedAt = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: OPENING_AT_ONCE }, async () => {
      while (started < n) {
        started++;
        closers.push(await open());
        welcomedAt.push(performance.now());
      }
    }),
  );
  await pause(1000);
  const idle = await ask('measure');
  const row = { kind, transport: kind === 'surelink' ? transport : 'websocket', n, sessions: idle.sessions };
  row.heapPerSession = Math.round((idle.heap - base.heap) / n);
  row.resourcesPerSession = {};
  for (const name of new Set([...Object.keys(base.resources), ...Object.keys(idle.resources)])) {
    const per = ((idle.resources[name] ?? 0) - (base.resources[name] ?? 0)) / n;
    if (per !== 0) row.resourcesPerSession[name] = +per.toFixed(3);
  }
  if (eluMs) {
    // Each idle session is pinged once after an interval of silence from its hello.
    const interval = kind === 'surelink' ? HEARTBEAT_MS : kind === 'socketio' ? SOCKETIO_PING_MS : Infinity;
    // The window is centred on the first clients' first ping (surelink's interval for ws: same wait).
    const centre = welcomedAt[0] + (kind === 'socketio' ? SOCKETIO_PING_MS : HEARTBEAT_MS);
    await pause(Math.max(0, centre - eluMs / 2 - performance.now()));
    seen.pings = 0;
    const from = performance.now();
    row.elu = await ask('elu', { ms: eluMs });
    const to = performance.now();
    row.pings = seen.pings;
    row.pingsExpected = welcomedAt.filter((t) => t + interval >= from && t + interval < to).length;
  }
  seen.events = 0;
  await ask('broadcast', { chars: BROADCAST_CHARS });
  for (let waited = 0; seen.events < n && waited < 20_000; waited += 50) await pause(50);
  await pause(1000); // a second copy would have arrived by now; acks are in
  row.broadcastReceived = seen.events;
  const afterBroadcast = await ask('measure');
  row.broadcastHeapPerSession = Math.round((afterBroadcast.heap - idle.heap) / n);
  for (const close of closers) close();
  await pause(settleMs);
  const end = await ask('measure');
  row.end = {
    sessions: end.sessions,
    heapKB: Math.round((end.heap - base.heap) / 1024),
    resources: JSON.stringify(end.resources) === JSON.stringify(base.resources) ? 'as before' : end.resources,
  };
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ cmd: 'stop' }); // the server closes and exits: no answer
  await exited;
  return row;
}

async function drive() {
  const eluAt = process.argv.indexOf('--elu');
  const eluMs = eluAt === -1 ? 10_000 : Number(process.argv[eluAt + 1]);
  const specs = process.argv.slice(2).filter((a, i) => a.includes(':') && i !== eluAt - 1);
  const matrix = specs.length
    ? specs.map((s) => s.split(':'))
    : [
        ...['ws', 'socketio', 'surelink'].flatMap((k) => [
          [k, 'websocket', '2000'],
          [k, 'websocket', '5000'],
        ]),
        ['surelink', 'longpoll', '300'],
        ['surelink', 'sockjs', '300'],
      ];
  const rows = [];
  for (const [kind, transport, n] of matrix) {
    const withElu = Number(n) >= 5000 || transport !== 'websocket' ? eluMs : 0;
    const row = await run(kind, transport, Number(n), withElu);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  const ws = (n) => rows.find((r) => r.kind === 'ws' && r.n === n);
  const sio = (n) => rows.find((r) => r.kind === 'socketio' && r.n === n);
  const ratio = (a, b) => (a !== undefined && b ? (a / b).toFixed(2) : '');
  const percent = (elu) => (elu === undefined ? '' : `${(elu * 100).toFixed(3)} %`);
  console.log(
    '\n| server | transport | N | heap/session (B) | × ws | × socket.io | timers/session | ELU | ELU × ws | ELU × socket.io | pings (expected) | broadcast received | after |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const timers = r.resourcesPerSession.Timeout ?? 0;
    const after = `${r.end.sessions ?? ''} sessions, ${r.end.heapKB} kB, handles ${r.end.resources === 'as before' ? 'as before' : 'differ'}`;
    console.log(
      `| ${r.kind} | ${r.transport} | ${r.n} | ${r.heapPerSession} | ${ratio(r.heapPerSession, ws(r.n)?.heapPerSession)} | ${ratio(r.heapPerSession, sio(r.n)?.heapPerSession)} | ${timers} | ${percent(r.elu)} | ${ratio(r.elu, ws(r.n)?.elu)} | ${ratio(r.elu, sio(r.n)?.elu)} | ${r.pings ?? ''} (${r.pingsExpected ?? ''}) | ${r.broadcastReceived}/${r.n} | ${after} |`,
    );
  }
  process.exit(0);
}

if (process.argv[2] === '--server') await serve(process.argv[3]);
else await drive();
