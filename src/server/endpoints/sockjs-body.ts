/**
 * The bodies of SockJS send requests (`xhr_send`, `jsonp_send`). The `sockjs` package reads such a
 * body whole before it looks at it, with no limit and by copying everything received so far onto
 * each new chunk: an unauthenticated POST of 160 MB, to any session id (even one that does not
 * exist), kept the event loop busy for minutes. So the endpoint bounds them before sockjs sees a
 * byte: over the limit by its Content-Length, or once a chunked body passes it, the request gets 413
 * and its HTTP connection is closed.
 *
 * A body carries every message sockjs-client gathered while its previous send was in flight, each
 * JSON-quoted (up to 6 bytes per character), so the limit sits far above one message: 16 MiB, or
 * more when `maxFrameBytes` needs it for one message alone.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The smallest limit on a send body, whatever `maxFrameBytes` is. */
export const MIN_SEND_BODY_BYTES = 16 << 20;

/** The largest body of a SockJS send request the endpoint passes on to sockjs. */
export function sendBodyLimit(maxFrameBytes: number): number {
  return Math.max(MIN_SEND_BODY_BYTES, maxFrameBytes * 6 + 64);
}

/**
 * Watches the body of `req` from now on; answers 413 and closes the connection once it is over
 * `maxBytes`. Returns false when the Content-Length is over already: the request was answered and
 * goes nowhere else.
 */
export function boundSendBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  if (Number(req.headers['content-length']) > maxBytes) {
    refuse(res, maxBytes);
    return false;
  }
  let size = 0;
  const count = (chunk: Buffer): void => {
    size += chunk.length;
    if (size <= maxBytes) return;
    req.off('data', count);
    req.pause(); // sockjs gets nothing more; it answers only at the body's end, which never comes
    refuse(res, maxBytes);
  };
  req.on('data', count);
  return true;
}

/** 413; `Connection: close` makes Node close the socket once the answer is written. */
function refuse(res: ServerResponse, maxBytes: number): void {
  if (res.headersSent || res.destroyed) return;
  const message = `body exceeds ${maxBytes} bytes`;
  res.writeHead(413, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(message),
    Connection: 'close',
  });
  res.end(message);
}
