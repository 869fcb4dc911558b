/**
 * The request bodies the `sockjs` package reads (`xhr_send`, `jsonp_send`, `chunking_test`). Its
 * own readers (`expect_xhr`, `expect_form`) take a body whole, with no limit, and copy everything
 * received so far onto each new chunk: an unauthenticated POST of 160 MB, to a session id that
 * need not exist, kept the event loop busy for minutes, and a body of any size sent in small TCP
 * segments costs its size squared. So the endpoint replaces them on its own sockjs app with
 * readers that collect the chunks (linear) and stop at a limit: over it by its Content-Length, or
 * once a body passes it, the request gets 413 and its HTTP connection is closed. The body then
 * goes to sockjs's reader as one chunk, so its parsing (content types, form decoding) is its own.
 *
 * A send body carries every message sockjs-client gathered while its previous send was in flight,
 * each JSON-quoted (up to 6 bytes per character), so the limit sits far above one message:
 * 64 MiB, or more when `maxFrameBytes` needs it for one message alone. (16 MiB refused a burst of
 * twenty 900 kB messages sent at once: the client re-sent it after each 413, for ever.)
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The smallest limit on a body, whatever `maxFrameBytes` is. */
export const MIN_SEND_BODY_BYTES = 64 << 20;

/** The largest body of a request the endpoint lets sockjs read. */
export function sendBodyLimit(maxFrameBytes: number): number {
  return Math.max(MIN_SEND_BODY_BYTES, maxFrameBytes * 6 + 64);
}

/** A filter of sockjs's request chain: `(req, res, data, next)`; it throws `{ status: 0 }` to pause it. */
type Filter = (this: unknown, req: unknown, res: ServerResponse, data: unknown, next: unknown) => unknown;

const READERS = ['expect_xhr', 'expect_form'] as const;

/**
 * Puts bounded readers in place of `app`'s body readers (sockjs 0.3's `GenericApp` methods);
 * false when `app` does not have them (another version of the package).
 */
export function boundBodies(app: unknown, maxBytes: number): boolean {
  if (typeof app !== 'object' || app === null) return false;
  const methods = app as Record<string, unknown>;
  const originals = READERS.map((name) => methods[name]);
  if (!originals.every((f): f is Filter => typeof f === 'function')) return false;
  READERS.forEach((name, i) => {
    const original = originals[i] as Filter;
    methods[name] = function (this: unknown, req: IncomingMessage, res: ServerResponse, data: unknown, next: unknown) {
      readBounded(req, res, maxBytes, (body) => {
        // sockjs's reader, fed the whole body at once: it listens, then pauses the chain (status 0).
        const whole = Object.assign(new EventEmitter(), { headers: req.headers });
        try {
          original.call(this, whole, res, data, next);
        } catch (pause) {
          if (!isPause(pause)) throw pause;
        }
        whole.emit('data', body);
        whole.emit('end');
      });
      throw { status: 0 }; // the chain goes on from `next`, once the body is in
    };
  });
  return true;
}

function isPause(thrown: unknown): boolean {
  return typeof thrown === 'object' && thrown !== null && (thrown as { status?: unknown }).status === 0;
}

/** Collects the body of `req` up to `maxBytes`; past that, 413 and nothing more is read. */
function readBounded(req: IncomingMessage, res: ServerResponse, maxBytes: number, done: (body: Buffer) => void): void {
  if (Number(req.headers['content-length']) > maxBytes) return refuse(res, maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size <= maxBytes) return void chunks.push(chunk);
    req.off('data', onData);
    req.pause();
    chunks.length = 0;
    refuse(res, maxBytes);
  };
  req.on('data', onData);
  req.once('end', () => {
    if (size <= maxBytes) done(Buffer.concat(chunks, size));
  });
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
