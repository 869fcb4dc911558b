// The examples server: static files from examples/ (at /) and dist/ (at /dist/), plus the
// reference realtime server at /realtime with a tiny demo (an 'echo' request handler, a 'chat'
// event broadcast to every session). Runs from the built dist/, so build first (`npm start` does).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRealtimeServer } from '../dist/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** URL prefix -> directory; the first matching prefix wins. */
const MOUNTS = [
  { prefix: '/dist/', dir: path.join(root, 'dist') },
  { prefix: '/', dir: path.join(root, 'examples') },
];

export const REALTIME_PATH = '/realtime';
const MAX_CHAT_CHARS = 500;

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.cts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Starts the examples server.
 * @param {{ port?: number, host?: string }} [options] port 0 picks a free port
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startExamplesServer({ port = 8080, host = 'localhost' } = {}) {
  const server = createServer();
  server.on('request', (req, res) => {
    // The realtime server answers its own HTTP routes (long polling, SockJS) when it has any.
    if (isRealtimePath(req.url) && server.listenerCount('request') > 1) return;
    serveStatic(req, res).catch((error) => {
      console.error('examples server:', error);
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });

  const realtime = createRealtimeServer({ server, path: REALTIME_PATH });
  attachDemo(realtime);

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address();
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}`,
    async close() {
      await realtime.close();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The demo behind the example pages. */
function attachDemo(realtime) {
  realtime.handle('echo', (data) => data);
  realtime.on('connection', (session) => {
    const from = session.id.slice(0, 6);
    session.on('chat', (message) => {
      const text = typeof message?.text === 'string' ? message.text.trim().slice(0, MAX_CHAT_CHARS) : '';
      if (text) realtime.broadcast('chat', { from, text, at: Date.now() });
    });
  });
  realtime.on('error', (error) => console.error('realtime server:', error));
}

function isRealtimePath(url = '/') {
  const pathname = url.split('?')[0];
  return pathname === REALTIME_PATH || pathname.startsWith(`${REALTIME_PATH}/`);
}

async function serveStatic(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed');
  }
  const pathname = decodePath(req.url);
  if (pathname === null) return send(res, 400, 'bad request');

  let file = resolveFile(pathname);
  if (file === null) return send(res, 404, 'not found');
  let info = await statOrNull(file);
  if (info?.isDirectory()) {
    if (!pathname.endsWith('/')) {
      res.writeHead(301, { Location: `${pathname}/` });
      return void res.end();
    }
    file = path.join(file, 'index.html');
    info = await statOrNull(file);
  }
  if (!info?.isFile()) return send(res, 404, 'not found');

  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** The request path, percent-decoded; `null` when it is malformed or carries a NUL byte. */
function decodePath(url = '/') {
  try {
    const pathname = decodeURIComponent(new URL(url, 'http://localhost').pathname);
    return pathname.includes('\0') ? null : pathname;
  } catch {
    return null;
  }
}

/** Maps a URL path onto a file inside one of the mounts, or `null` if it would leave it. */
function resolveFile(pathname) {
  const mount = MOUNTS.find(({ prefix }) => pathname.startsWith(prefix) || `${pathname}/` === prefix);
  if (!mount) return null;
  const rest = pathname.slice(mount.prefix.length);
  const file = path.resolve(mount.dir, `.${path.sep}${rest}`);
  return file === mount.dir || file.startsWith(mount.dir + path.sep) ? file : null;
}

async function statOrNull(file) {
  try {
    return await stat(file);
  } catch {
    return null;
  }
}

function send(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}
