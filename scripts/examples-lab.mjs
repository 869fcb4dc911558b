// Server-side controls of the transport lab (examples/lab.html), as small HTTP endpoints:
//   POST /lab/cut                     destroys every open TCP connection (WebSocket, SockJS
//                                     streams, held long polls): what a dropped network looks like
//   POST /lab/refuse-upgrades?on=1|0  answers every WebSocket upgrade 403, as a proxy that blocks
//                                     WebSocket would; SockJS's own WebSocket route included
//   GET  /lab/status                  { refuseUpgrades, sessions }
//   GET  /lab/received                { messages }: the 'lab:message' events the server delivered
//                                     and the 'lab:request's it ran (examples-demo.mjs)
// A local demo: the POST routes refuse cross-origin requests, nothing more.

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * Installs the lab on `server`: connection tracking and the upgrade gate. Call it after
 * `createRealtimeServer`: the realtime server takes the upgrades on its path before the 'upgrade'
 * listeners it finds, so the gate goes in front of it (`prependListener`), as a proxy would be.
 * @param {import('node:http').Server} server
 */
export function attachLab(server) {
  let refuseUpgrades = false;
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.prependListener('upgrade', (_req, socket) => {
    if (refuseUpgrades) refuseUpgrade(socket);
  });

  /** Destroys every connection but `keep` (the request asking for it); returns how many. */
  const cut = (keep) => {
    let count = 0;
    for (const socket of sockets) {
      if (socket === keep) continue;
      socket.destroy();
      count++;
    }
    return count;
  };

  return {
    /**
     * Answers a request under /lab/.
     * @param {import('node:http').IncomingMessage} req
     * @param {import('node:http').ServerResponse} res
     * @param {{ sessions(): number, received(): readonly object[] }} demo
     */
    handle(req, res, demo) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = `${req.method} ${url.pathname}`;
      if (req.method === 'POST' && !sameOrigin(req)) return reply(res, 403, { error: 'cross-origin request' });
      switch (route) {
        case 'POST /lab/cut':
          return reply(res, 200, { cut: cut(req.socket) });
        case 'POST /lab/refuse-upgrades':
          refuseUpgrades = url.searchParams.get('on') === '1';
          return reply(res, 200, { refuseUpgrades });
        case 'GET /lab/status':
          return reply(res, 200, { refuseUpgrades, sessions: demo.sessions() });
        case 'GET /lab/received':
          return reply(res, 200, { messages: demo.received() });
        default: {
          const known = ['/lab/cut', '/lab/refuse-upgrades', '/lab/status', '/lab/received'];
          return known.includes(url.pathname)
            ? reply(res, 405, { error: 'method not allowed' })
            : reply(res, 404, { error: 'not found' });
        }
      }
    },
  };
}

/**
 * Ends the handshake with 403. Listeners after this one (the realtime server's) still see the
 * upgrade, but the socket is no longer writable: `ws` then destroys it, sockjs's writes fail into
 * the no-op error handler.
 */
function refuseUpgrade(socket) {
  const body = 'WebSocket upgrades are refused (transport lab)';
  socket.on('error', () => {});
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Requests without an Origin header (curl, tests) pass; browsers send one on every POST. */
function sameOrigin(req) {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function reply(res, status, body) {
  res.writeHead(status, JSON_HEADERS);
  res.end(JSON.stringify(body));
}
