// `npm run bench:rtt`: where surelink's echo RTT goes beyond raw `ws`, client side or server side.
// Four pairs stay connected at once and take turns, blocks of echoes round-robin, so the machine's
// drift (a shared 2-core box) hits them alike; every pair gets the same warm-up first:
//   raw ws ↔ ws server           the baseline
//   surelink ↔ surelink server   what the bench's RTT row measures
//   minimal client → surelink    the surelink server's share (the client does the least the protocol allows)
//   surelink → minimal server    the surelink client's share
// The minimal peers speak just enough protocol to echo and to acknowledge (bench/server.mjs `minimal`, below).
// A second table splits each echo at two instants every pair's `ws` socket reports alike: when
// `send` returned (the client's send path, the write included) and when the reply reached the
// socket's first 'message' listener (the wire and the server); the rest is the client's receive path.
// Prints medians; writes nothing. Every wait is bounded; the server process is stopped at the end.
//
//   RTT_WARMUP=n   warm-up echoes per pair (default 5000)   RTT_ROUNDS=n   rounds of 200 (default 40)
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { RealtimeClient } from '../dist/index.js';
import { PAD } from './app.mjs';
import { CORES, startServer, stop, stopAll } from './processes.mjs';
import { percentile, withTimeout } from './stats.mjs';

const WARMUP = Math.min(50_000, Number(process.env.RTT_WARMUP) || 5_000);
const ROUNDS = Math.min(200, Number(process.env.RTT_ROUNDS) || 40);
const BLOCK = 200;
const TIMEOUT_MS = 10_000;
const hr = () => Number(process.hrtime.bigint()) / 1e6;

/** The two instants of the echo under way (one at a time): 0 until they happen. */
let sentAt = 0;
let arrivedAt = 0;

/** `ws` with the instants stamped; every pair's socket is one, so the stamps cost them alike. */
class StampedWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.prependListener('message', () => (arrivedAt ||= hr()));
  }

  send(...args) {
    super.send(...args);
    sentAt ||= hr();
  }
}

/** An echo pair: `rt()` sends one `e` and resolves when it is back; `abort()` rejects the one pending. */
function pair(open) {
  let waiting;
  let fail;
  const { ready, send, close } = open((data) => waiting?.(data));
  return {
    ready,
    close,
    abort: (error) => fail?.(error),
    rt: (i) =>
      new Promise((resolve, reject) => {
        waiting = resolve;
        fail = reject;
        send({ i, p: PAD });
      }),
  };
}

/**
 * `n` echoes on `p`, their times pushed to `samples` (when given). One timer bounds the block: a
 * timer per echo would add its own cost to every sample.
 */
async function echoes(p, n, samples) {
  const timer = setTimeout(() => p.abort(new Error(`echo: no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  try {
    for (let i = 0; i < n; i++) {
      sentAt = arrivedAt = 0;
      const t0 = hr();
      await p.rt(i);
      const t3 = hr();
      if (samples) {
        samples.push(t3 - t0);
        p.phases.send.push(sentAt - t0);
        p.phases.wire.push(arrivedAt - sentAt);
        p.phases.receive.push(t3 - arrivedAt);
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

function rawWs(url, onEcho) {
  const ws = new StampedWebSocket(url);
  ws.on('message', (buf) => {
    const [type, data] = JSON.parse(buf.toString());
    if (type === 'e') onEcho(data);
  });
  return { ws, ready: new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject))) };
}

const openers = {
  'raw ws ↔ ws': (base) => (onEcho) => {
    const { ws, ready } = rawWs(`ws://${base}/ws`, onEcho);
    return { ready, send: (data) => ws.send(JSON.stringify(['e', data])), close: () => ws.close() };
  },
  'surelink ↔ surelink': (base) => (onEcho) => surelink(`ws://${base}/realtime`, onEcho),
  'minimal → surelink server': (base) => (onEcho) => {
    let seq = 0;
    let welcomed;
    const ws = new StampedWebSocket(`ws://${base}/realtime`);
    ws.on('open', () => ws.send(JSON.stringify(['h', { v: 1, ack: 0 }])));
    ws.on('message', (buf) => {
      const frame = JSON.parse(buf.toString());
      if (frame[0] === 'w') welcomed();
      else if (frame[0] === 'e' && frame[2] === 'e') {
        // Acks as a surelink client sends them (every 64 frames): the server's replay buffer stays small.
        if (frame[1] % 64 === 0) ws.send(`["a",${frame[1]}]`);
        onEcho(frame[3]);
      }
    });
    return {
      ready: new Promise((resolve) => (welcomed = resolve)),
      send: (data) => ws.send(JSON.stringify(['e', ++seq, 'e', data])),
      close: () => ws.close(),
    };
  },
  'surelink → minimal server': (base) => (onEcho) => surelink(`ws://${base}/minimal`, onEcho),
};

function surelink(url, onEcho) {
  const client = new RealtimeClient(url, { transports: ['websocket'], lifecycle: false, WebSocket: StampedWebSocket });
  client.on('e', onEcho);
  return {
    ready: client.waitFor('open', { timeoutMs: TIMEOUT_MS }),
    send: (data) => client.send('e', data),
    close: () => client.close(),
  };
}

async function main() {
  if (CORES)
    execFileSync('taskset', ['-a', '-p', '-c', String(CORES.client), String(process.pid)], { stdio: 'ignore' });
  const server = await startServer(['ws', 'surelink', 'minimal']);
  let pairs = [];
  try {
    const base = `127.0.0.1:${server.port}`;
    pairs = Object.entries(openers).map(([name, open]) => ({
      name,
      ...pair(open(base)),
      samples: [],
      phases: { send: [], wire: [], receive: [] },
    }));
    await withTimeout(Promise.all(pairs.map((p) => p.ready)), TIMEOUT_MS, 'connect');
    for (const p of pairs) await echoes(p, WARMUP);
    for (let r = 0; r < ROUNDS; r++) for (const p of pairs) await echoes(p, BLOCK, p.samples);
    const base50 = percentile(pairs[0].samples, 50);
    console.log(`echo RTT, ${ROUNDS} rounds of ${BLOCK} per pair after ${WARMUP} warm-up echoes each (µs)`);
    console.log('pair                          p25     p50     p75   p50 / raw');
    for (const p of pairs) {
      const [q1, q2, q3] = [25, 50, 75].map((q) => (percentile(p.samples, q) * 1000).toFixed(1).padStart(7));
      console.log(`${p.name.padEnd(26)}${q1} ${q2} ${q3}   ${(percentile(p.samples, 50) / base50).toFixed(2)}×`);
    }
    const us = (values) => (percentile(values, 50) * 1000).toFixed(1).padStart(7);
    console.log(
      '\nwhere an echo goes, medians (µs)  send   wire+server   receive   (client send path / socket to socket / client receive path)',
    );
    for (const p of pairs) {
      const { send, wire, receive } = p.phases;
      console.log(`${p.name.padEnd(30)}${us(send)}       ${us(wire)}   ${us(receive)}`);
    }
  } finally {
    for (const p of pairs) p.close();
    await stop(server.child);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    stopAll();
    process.exit(1);
  },
);
