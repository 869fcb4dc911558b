// Bench server process (forked by bench/run.mjs): one http.Server on 127.0.0.1, port 0, with the
// backends named in argv attached, each speaking bench/app.mjs:
//   ws        raw `ws` server at /ws (the baseline)
//   surelink  createRealtimeServer from dist/server.js at /realtime (WebSocket, /realtime/sockjs, /realtime/poll)
//   socketio  socket.io server at /socket.io/ (websocket and polling)
//   sockjs    raw `sockjs` server at /sockjs
//   minimal   the least a surelink-protocol server can do, at /minimal: welcome, echo `e`, an ack every 64 frames
//             (for bench/rtt-split.mjs, which tells the client's share of the RTT from the server's)
//   static    the browser page (bench/browser/), dist/surelink.min.js, socket.io-client's browser
//             bundle from node_modules, and POST /results (forwarded to the parent over IPC)
// Reports { port } over IPC; stops on { cmd: 'stop' } (or when the parent goes away).
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverApp } from './app.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kinds = process.argv.slice(2);

const server = createServer();
const closers = [];

const backends = {
  async ws() {
    const { WebSocketServer } = await import('ws');
    // noServer: with `server`, ws answers 400 to upgrades for every other path (surelink's, socket.io's).
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/ws') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    wss.on('connection', (ws) => {
      const handle = serverApp((type, data) => ws.send(JSON.stringify([type, data])));
      ws.on('message', (buf) => {
        const [type, data] = JSON.parse(buf.toString());
        handle(type, data);
      });
      ws.on('error', () => {});
    });
    closers.push(() => wss.close());
  },

  async surelink() {
    const { createRealtimeServer } = await import('../dist/server.js');
    // The floods outrun the client's acks by more than the default 10,000 unacknowledged frames;
    // acks stay on (they always are), the replay buffer is just allowed to hold a whole flood.
    const rt = createRealtimeServer({ server, path: '/realtime', maxBufferedFrames: 1_000_000 });
    rt.on('connection', (session) => {
      const handle = serverApp((type, data) => session.send(type, data));
      for (const type of ['up', 'm', 'e', 'down']) session.on(type, (data) => handle(type, data));
    });
    closers.push(() => rt.close());
  },

  async minimal() {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/minimal') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    const welcome = JSON.stringify([
      'w',
      { v: 1, sid: 's', resume: 'r', resumed: false, ack: 0, hb: [25_000, 10_000] },
    ]);
    wss.on('connection', (ws) => {
      let seq = 0;
      ws.on('message', (buf) => {
        const frame = JSON.parse(buf.toString());
        if (frame[0] === 'h') ws.send(welcome);
        else if (frame[0] === 'e' && frame[2] === 'e') {
          ws.send(JSON.stringify(['e', ++seq, 'e', frame[3]]));
          // An ack every 64 frames, as surelink's server sends them: without acks the client's
          // outbound log would grow with every echo and its GC would slow it down.
          if (frame[1] % 64 === 0) ws.send(`["a",${frame[1]}]`);
        }
      });
      ws.on('error', () => {});
    });
    closers.push(() => wss.close());
  },

  async socketio() {
    const { Server } = await import('socket.io');
    const io = new Server(server, { transports: ['polling', 'websocket'], serveClient: false, cors: { origin: '*' } });
    io.on('connection', (socket) => {
      const handle = serverApp((type, data) => socket.emit(type, data));
      for (const type of ['up', 'm', 'e', 'down']) socket.on(type, (data) => handle(type, data));
    });
    closers.push(() => io.close());
  },

  async sockjs() {
    const sockjs = require('sockjs');
    const sjs = sockjs.createServer({ prefix: '/sockjs', log: () => {}, disconnect_delay: 1000 });
    sjs.on('connection', (conn) => {
      const handle = serverApp((type, data) => conn.write(JSON.stringify([type, data])));
      conn.on('data', (text) => {
        const [type, data] = JSON.parse(text);
        handle(type, data);
      });
    });
    sjs.installHandlers(server);
  },

  async static() {
    const files = {
      '/bench.html': [path.join(root, 'bench/browser/bench.html'), 'text/html; charset=utf-8'],
      '/bench-page.js': [path.join(root, 'bench/browser/bench-page.js'), 'text/javascript; charset=utf-8'],
      '/surelink.min.js': [path.join(root, 'dist/surelink.min.js'), 'text/javascript; charset=utf-8'],
      '/socket.io.min.js': [
        path.join(path.dirname(require.resolve('socket.io-client/package.json')), 'dist/socket.io.min.js'),
        'text/javascript; charset=utf-8',
      ],
    };
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'POST' && url.pathname === '/results') {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          res.writeHead(204, { 'Access-Control-Allow-Origin': '*' }).end();
          process.send?.({ type: 'browser', body: Buffer.concat(chunks).toString('utf8') });
        });
        return;
      }
      const file = files[url.pathname];
      if (req.method === 'GET' && file) {
        // Cross-origin isolation gives performance.now() 5 µs resolution instead of 100 µs.
        res.writeHead(200, {
          'Content-Type': file[1],
          'Cache-Control': 'no-store',
          'Cross-Origin-Opener-Policy': 'same-origin',
          'Cross-Origin-Embedder-Policy': 'require-corp',
        });
        createReadStream(file[0]).pipe(res);
        return;
      }
      if (url.pathname === '/favicon.ico') res.writeHead(204).end();
    });
  },
};

for (const kind of kinds) {
  if (!backends[kind]) throw new Error(`bench/server.mjs: unknown backend ${kind}`);
  await backends[kind]();
}
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: server.address().port }));

function stop() {
  for (const close of closers) {
    try {
      close();
    } catch {
      // stopping anyway
    }
  }
  server.closeAllConnections?.();
  server.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('message', (msg) => msg?.cmd === 'stop' && stop());
process.on('disconnect', () => process.exit(0));
