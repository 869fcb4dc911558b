#!/usr/bin/env node
/**
 * Measures how long a client with default options takes to deliver its first message when the
 * network refuses WebSocket upgrades, when upgrades hang, and on the next page load (remembered
 * transport). Node, loopback only, the built dist/. Prints a Markdown table and, with --write,
 * puts it into README.md between the `fallback-times` markers.
 *
 *   npm run build && node scripts/fallback-times.mjs [--write] [--runs N]
 */
import { createServer } from 'node:http';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import SockJS from 'sockjs-client';
import WebSocket from 'ws';
import { RealtimeClient } from '../dist/index.js';
import { createRealtimeServer } from '../dist/server.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;

/** A proxy that refuses (403) or swallows (never answers) `Upgrade: websocket` requests. */
async function proxy(targetPort, mode) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    client.on('close', () => sockets.delete(client));
    client.once('data', (first) => {
      if (/^upgrade:\s*websocket/im.test(first.toString('latin1'))) {
        if (mode === 'refuse') client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return; // 'hang': never answer
      }
      const upstream = net.connect(targetPort, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => sockets.delete(upstream));
      upstream.write(first);
      client.pipe(upstream).pipe(client);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(r);
      }),
  };
}

/** A Storage-shaped Map: the "localStorage" that survives the simulated page load. */
function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, String(v)),
    removeItem: (k) => void m.delete(k),
  };
}

async function firstMessageMs(url, storage) {
  const started = performance.now();
  const client = new RealtimeClient(url, { WebSocket, SockJS, lifecycle: false, rememberTransport: { storage } });
  const transport = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no delivery within 20 s')), 20_000);
    received = () => {
      clearTimeout(timer);
      resolve(client.transport);
    };
    client.send('m', 1);
  });
  const ms = performance.now() - started;
  client.close();
  return { ms, transport };
}

let received = () => {};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const http = createServer();
const rt = createRealtimeServer({ server: http });
rt.on('connection', (session) => session.on('m', () => received()));
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const port = http.address().port;

const rows = [];
for (const mode of ['refuse', 'hang']) {
  const p = await proxy(port, mode);
  const url = `ws://127.0.0.1:${p.port}/realtime`;
  const first = [];
  const next = [];
  const transports = new Set();
  for (let i = 0; i < runs; i++) {
    const storage = memoryStorage();
    const a = await firstMessageMs(url, storage); // first page load: tries WebSocket first
    const b = await firstMessageMs(url, storage); // next page load: remembered transport
    first.push(a.ms);
    next.push(b.ms);
    transports.add(a.transport);
  }
  await p.close();
  rows.push({ mode, first: median(first), next: median(next), transports: [...transports].join(', ') });
}
await rt.close();
http.closeAllConnections();
await new Promise((r) => http.close(r));

const fmt = (ms) => `${Math.round(ms)} ms`;
const table = [
  `| network (default options) | first message, first page load | next page load (remembered) | fell back to | target |`,
  `| --- | --- | --- | --- | --- |`,
  `| WebSocket upgrade refused | ${fmt(rows[0].first)} | ${fmt(rows[0].next)} | ${rows[0].transports} | ≤ 1 s / ≤ 0.3 s |`,
  `| WebSocket upgrade hangs | ${fmt(rows[1].first)} | ${fmt(rows[1].next)} | ${rows[1].transports} | ≤ 4 s / ≤ 0.3 s |`,
  '',
  `Medians of ${runs} runs, Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores), loopback; ` +
    '`npm run build && node scripts/fallback-times.mjs --write`.',
].join('\n');
console.log(table);

if (process.argv.includes('--write')) {
  const readme = readFileSync('README.md', 'utf8');
  const start = '<!-- fallback-times:start -->';
  const end = '<!-- fallback-times:end -->';
  const [before, rest] = readme.split(start);
  if (rest === undefined) throw new Error('README.md has no fallback-times markers');
  writeFileSync('README.md', `${before}${start}\n${table}\n${end}${rest.split(end)[1]}`);
}
