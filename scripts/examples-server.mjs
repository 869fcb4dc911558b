// The examples server: static files from examples/ (at /) and dist/ (at /dist/), the two browser
// files of the client's dependencies (at /vendor/, see VENDOR), the reference realtime server at
// /realtime with the demo of examples-demo.mjs, and the transport lab's controls at /lab/
// (examples-lab.mjs). Runs from the built dist/, so build first (`npm start` does).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRealtimeServer } from '../dist/server.js';
import { attachDemo } from './examples-demo.mjs';
import { attachLab } from './examples-lab.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageDir = (name) => path.dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));

/**
 * The only files served from node_modules, for pages that load the ESM build without a bundler
 * (their import map points the bare specifiers here): eventemitter3's own ES module build, and
 * sockjs-client's browser script (examples/shims/sockjs-client.js wraps it as a module).
 */
const VENDOR = new Map([
  ['/vendor/eventemitter3.js', path.join(packageDir('eventemitter3'), 'dist', 'eventemitter3.esm.js')],
  ['/vendor/sockjs.min.js', path.join(packageDir('sockjs-client'), 'dist', 'sockjs.min.js')],
]);

/** URL prefix -> directory; the first matching prefix wins. */
const MOUNTS = [
  { prefix: '/dist/', dir: path.join(root, 'dist') },
  { prefix: '/', dir: path.join(root, 'examples') },
];

export const REALTIME_PATH = '/realtime';

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
  // Before the realtime server, which puts its own HTTP routes (long polling, SockJS) in front of
  // the 'request' listeners it finds; `lab` is attached after it (its upgrade gate goes in front).
  server.on('request', (req, res) => {
    if (pathOf(req.url).startsWith('/lab/')) return lab.handle(req, res, labView);
    serveStatic(req, res).catch((error) => {
      console.error('examples server:', error);
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  const realtime = createRealtimeServer({ server, path: REALTIME_PATH });
  const lab = attachLab(server);
  const demo = attachDemo(realtime);
  const labView = { sessions: () => realtime.sessions.size, received: () => demo.received() };

  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    demo.close();
    await realtime.close();
    throw error;
  }

  const address = server.address();
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}`,
    async close() {
      demo.close();
      await realtime.close();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function pathOf(url = '/') {
  return url.split('?')[0];
}

async function serveStatic(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed');
  }
  const pathname = decodePath(req.url);
  if (pathname === null) return send(res, 400, 'bad request');

  let file = VENDOR.get(pathname) ?? resolveFile(pathname);
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
