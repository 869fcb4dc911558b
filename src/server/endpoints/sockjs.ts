/**
 * The SockJS endpoint: a `sockjs` server with prefix `${path}/sockjs`, for clients that cannot
 * open a WebSocket. Each SockJS message carries one frame or a batch (PROTOCOL.md, "Transports");
 * SockJS's own heartbeat is below the protocol and does not count as liveness.
 *
 * The HTTP request: sockjs hands over a connection whose `headers` are a filtered copy (no
 * `origin`, `cookie` or `authorization`). So every request sockjs handles runs inside an
 * AsyncLocalStorage scope holding it; sockjs announces a connection from a `nextTick` chain
 * started by the request that opened it (the upgrade, or the first streaming/polling request),
 * which keeps the scope. `ServerConnection.request` is therefore the real `IncomingMessage`,
 * exactly as on the WebSocket endpoint, and `authenticate(token, req)` sees the same thing on both.
 *
 * Iframe-based SockJS transports are not supported: `sockjs_url` (the script sockjs's iframe page
 * loads) is `${path}/sockjs-client.min.js` on this server, never a CDN, and nothing is served
 * there unless the application serves sockjs-client's `dist/sockjs.min.js` at that path itself.
 * The surelink client does not use those transports.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer } from 'sockjs';
import type { Connection, Server as SockJSServer, ServerOptions } from 'sockjs';
import { ProtocolError } from '../../errors/protocol.js';
import { batcher } from '../../protocol/batch.js';
import type { Batcher } from '../../protocol/batch.js';
import { CloseCode } from '../../protocol/close-codes.js';
import type { Logger } from '../../util/logger.js';
import { closeFrameText, fitReason } from '../connection.js';
import type { ConnectionCallbacks, ServerConnection } from '../connection.js';
import { interceptRequests } from './intercept-requests.js';
import { listenForUpgrades } from './upgrades.js';
import { boundBodies, sendBodyLimit } from './sockjs-body.js';
import { closeSockJS, SockJSBacklog } from './sockjs-session.js';
import type { SockJSConn as SockJSWritable } from './sockjs-session.js';
import type { Endpoint, WebSocketEndpointOptions } from './websocket.js';

/**
 * The WebSocket endpoint's options; the SockJS prefix is `${path}/sockjs`. `maxSendBufferBytes`
 * bounds what sockjs holds unsent for a connection (sockjs-session.ts).
 */
export type SockJSEndpointOptions = WebSocketEndpointOptions;

/** sockjs sends a heartbeat frame on idle streams this often, so proxies keep them open. */
const SOCKJS_HEARTBEAT_MS = 25_000;
/**
 * The routes that feed frames into a session sockjs holds. The session's opening request was
 * checked, but a browser sends no Origin on a `<script>` or `<iframe>` GET (the jsonp and htmlfile
 * receivers), so a hostile page could open one and send it a hello (with the victim's cookies on
 * the opening request). Browsers put an Origin (or "null") on every cross-origin POST: checked here.
 */
const SEND_ROUTE = /^[^?#]*\/(?:xhr|jsonp)_send\/?(?:[?#]|$)/; // sockjs allows the trailing slash
/**
 * The routes whose response is a stream of frames. nginx buffers proxied responses by default
 * (`proxy_buffering on`), and behind a plain `proxy_pass` it passed none of such a stream on,
 * not even SockJS's open frame: sockjs-client then spent a timeout on each streaming transport
 * before polling. `X-Accel-Buffering: no` turns nginx's buffering off for that one response.
 */
const STREAM_ROUTE = /^[^?#]*\/(?:xhr_streaming|eventsource|htmlfile)\/?(?:[?#]|$)/;
/** How long a session of an HTTP transport survives without a pending request (sockjs default). */
const SOCKJS_DISCONNECT_DELAY_MS = 5_000;

type Handler = (req: IncomingMessage, res: ServerResponse | Duplex, head?: Buffer) => boolean;

/** sockjs's `listener()` (undocumented in @types/sockjs): a handler returning whether it took the request. */
interface ListenerApi {
  listener(options?: ServerOptions): { getHandler(): Handler; readonly app?: unknown };
}

/**
 * The subset of a sockjs connection used here. @types/sockjs types `close(code)` as a string, but
 * sockjs writes the value into the SockJS close frame as is, so it has to be a number.
 */
interface SockJSConn extends SockJSWritable {
  on(event: 'data', listener: (message: unknown) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

export function attachSockJSEndpoint(options: SockJSEndpointOptions): Endpoint {
  const base = options.path.replace(/\/+$/, '');
  const prefix = `${base}/sockjs`;
  const requests = new AsyncLocalStorage<IncomingMessage>();
  const sockjsOptions: ServerOptions & { faye_server_options: { maxLength: number } } = {
    prefix: escapeRegExp(prefix), // sockjs puts it into a RegExp as is
    sockjs_url: `${base}/sockjs-client.min.js`,
    websocket: true,
    jsessionid: false,
    heartbeat_delay: SOCKJS_HEARTBEAT_MS,
    disconnect_delay: SOCKJS_DISCONNECT_DELAY_MS,
    log: (severity, message) => logTo(options.logger, severity, message),
    // Frames up to maxFrameBytes are checked by us (4413 with a close frame). Only floods hit this
    // limit; it leaves room for SockJS's JSON quoting (up to 6 bytes per character).
    faye_server_options: { maxLength: options.maxFrameBytes * 6 + 64 },
  };
  const sockjs: SockJSServer & Partial<ListenerApi> = createServer(sockjsOptions);
  if (typeof sockjs.listener !== 'function') throw new Error('surelink: unsupported version of the sockjs package');
  const listener = sockjs.listener();
  // sockjs reads bodies whole, unbounded and in quadratic time: bounded readers instead (sockjs-body.ts).
  if (!boundBodies(listener.app, sendBodyLimit(options.maxFrameBytes)))
    throw new Error('surelink: unsupported version of the sockjs package');
  const handler = listener.getHandler();
  // Sessions sockjs still holds: after close() their requests still have to reach it (below).
  let live = 0;
  let closed = false;
  sockjs.on('connection', (conn: Connection) => {
    live++;
    conn.on('close', () => {
      if (--live === 0 && closed) detach();
    });
    wire(conn as unknown as SockJSConn, requests.getStore(), options);
  });
  // Only requests sockjs may take run in the scope: the first `run` turns async hooks on for the
  // whole process, which slows every promise, timer and microtask of a server no SockJS client uses.
  const ours = (req: IncomingMessage): boolean => req.url?.startsWith(prefix) === true;
  const restoreRequests = interceptRequests(options.server, (req, res) => {
    if (!ours(req)) return false;
    if (STREAM_ROUTE.test(req.url ?? '')) res.setHeader('X-Accel-Buffering', 'no');
    if (!SEND_ROUTE.test(req.url ?? '') || options.allowOrigin(req.headers.origin))
      return requests.run(req, () => handler(req, res));
    req.resume();
    res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('origin not allowed');
    return true;
  });
  const stopListening = listenForUpgrades(
    options.server,
    (req, socket, head) => ours(req) && requests.run(req, () => handler(req, socket, head)),
  );
  const detach = (): void => restoreRequests();
  return {
    // A polling client collects its close frame (1001) with its next request, so the prefix's
    // requests stay with sockjs until sockjs forgot its last session (disconnect_delay after the
    // last request); new sessions meanwhile are refused by the server with 1001 too. An upgrade
    // can only open a new session: upgrades go at once, or a server re-created on this path right
    // after close() (a hot reload) had every SockJS-over-WebSocket client refused by this one.
    close() {
      closed = true;
      stopListening();
      if (live === 0) detach();
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** sockjs logs every request at 'info': that is debug noise for us. */
function logTo(logger: Logger, severity: string, message: string): void {
  if (severity === 'error') logger.error(`surelink: sockjs: ${message}`);
  else logger.debug(`surelink: sockjs: ${message}`);
}

function wire(conn: SockJSConn, request: IncomingMessage | undefined, options: SockJSEndpointOptions): void {
  if (!request) {
    options.logger.error('surelink: sockjs connection without its HTTP request; closing it');
    refuse(conn, CloseCode.InternalError, 'internal error');
    return;
  }
  if (!options.allowOrigin(request.headers.origin)) {
    options.logger.info(`surelink: refusing sockjs connection from origin ${String(request.headers.origin)}`);
    refuse(conn, CloseCode.Forbidden, 'origin not allowed');
    return;
  }
  const connection = new SockJSServerConnection(conn, request, options.maxFrameBytes, options.maxSendBufferBytes);
  connection.listen(options.accept(connection), options.maxFrameBytes);
}

/** Before a session exists: a close frame (the client reads its code first), then the SockJS close. */
function refuse(conn: SockJSConn, code: number, reason: string): void {
  conn.write(closeFrameText(code, reason));
  closeSockJS(conn, code, reason, CloseCode.Normal);
}

class SockJSServerConnection implements ServerConnection {
  readonly transport = 'sockjs' as const;
  request: IncomingMessage | undefined;
  readonly maxMessageBytes: number;
  readonly #conn: SockJSConn;
  readonly #backlog: SockJSBacklog;
  readonly #maxSendBufferBytes: number;
  #callbacks: ConnectionCallbacks | undefined;
  #batch: Batcher | undefined;
  #closing = false;
  #slow = false;

  constructor(conn: SockJSConn, request: IncomingMessage, maxMessageBytes: number, maxSendBufferBytes: number) {
    this.#conn = conn;
    this.request = request;
    this.maxMessageBytes = maxMessageBytes;
    this.#backlog = new SockJSBacklog(conn);
    this.#maxSendBufferBytes = maxSendBufferBytes;
  }

  startBatching(maxChars: number): void {
    this.#batch ??= batcher((text) => this.#write(text), maxChars);
  }

  listen(callbacks: ConnectionCallbacks, maxFrameBytes: number): void {
    this.#callbacks = callbacks;
    this.#conn.on('data', (message) => {
      this.#batch?.inbound(); // what the session answers goes at once (see `batcher`)
      if (!this.#closing) this.#receive(message, maxFrameBytes);
    });
    this.#conn.on('close', () => this.#report(CloseCode.Abnormal, 'connection lost'));
  }

  send(text: string): void {
    if (this.#batch) this.#batch.push(text);
    else this.#write(text);
  }

  /** One message; the backlog is checked before each, as on the WebSocket endpoint. */
  #write(text: string): void {
    if (this.#closing || this.#slow) return;
    const unsent = this.#backlog.size;
    if (unsent <= this.#maxSendBufferBytes) {
      this.#conn.write(text);
      this.#backlog.wrote(text);
      return;
    }
    // Nothing more is added; the session ends once the caller's send returned (see websocket.ts).
    this.#slow = true;
    const error = new ProtocolError(
      `client is not reading: ${unsent} bytes unsent, limit ${this.#maxSendBufferBytes}`,
      CloseCode.SlowConsumer,
    );
    queueMicrotask(() => this.#callbacks?.onProtocolError(error));
  }

  close(code: number, reason: string): void {
    this.#batch?.flush();
    if (this.#closing) return;
    const fitted = fitReason(reason);
    this.#conn.write(closeFrameText(code, fitted));
    this.#end(code, fitted, CloseCode.Normal);
  }

  closeTransport(code: number, reason: string): void {
    this.#batch?.flush();
    if (!this.#closing) this.#end(code, fitReason(reason), CloseCode.Normal);
  }

  /** SockJS has no abortive close: the peer, if still there, gets a bare 1006 (4000 on the raw route), both retried. */
  terminate(): void {
    if (!this.#closing) this.#end(CloseCode.Abnormal, 'connection terminated', CloseCode.HeartbeatTimeout);
  }

  #receive(message: unknown, maxFrameBytes: number): void {
    const callbacks = this.#callbacks;
    if (!callbacks) return;
    if (typeof message !== 'string') {
      // Only sockjs's raw WebSocket route (`${prefix}/websocket`) can deliver binary data.
      callbacks.onProtocolError(new ProtocolError('binary frames are not part of the protocol'));
      return;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 code unit: short frames skip the byte count.
    const bytes = message.length * 3 <= maxFrameBytes ? 0 : Buffer.byteLength(message);
    if (bytes > maxFrameBytes) {
      callbacks.onProtocolError(
        new ProtocolError(`frame of ${bytes} bytes exceeds ${maxFrameBytes}`, CloseCode.FrameTooLarge),
      );
      return;
    }
    callbacks.onMessage(message);
  }

  #end(code: number, reason: string, fallback: number): void {
    this.#closing = true;
    closeSockJS(this.#conn, code, reason, fallback);
    // sockjs reports the close of an HTTP-transport session only after disconnect_delay; for us
    // the connection is over now (sockjs delivers nothing more), so report it, asynchronously.
    setImmediate(() => this.#report(code, reason));
  }

  #report(code: number, reason: string): void {
    this.#closing = true;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    callbacks?.onClose(code, reason);
  }
}
