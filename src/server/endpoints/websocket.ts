/**
 * The WebSocket endpoint: a `ws` server in `noServer` mode behind the http.Server's `upgrade`
 * event, filtered by path and origin. Each socket becomes a `ServerConnection`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData, ServerOptions } from 'ws';
import { ProtocolError } from '../../errors/protocol.js';
import { batcher } from '../../protocol/batch.js';
import type { Batcher } from '../../protocol/batch.js';
import { CloseCode } from '../../protocol/close-codes.js';
import type { Logger } from '../../util/logger.js';
import { closeFrameText, fitReason } from '../connection.js';
import type { ConnectionAcceptor, ConnectionCallbacks, ServerConnection } from '../connection.js';
import { interceptRequests } from './intercept-requests.js';
import { listenForUpgrades, rejectUpgrade } from './upgrades.js';

export interface WebSocketEndpointOptions {
  readonly server: Server;
  readonly path: string;
  readonly maxFrameBytes: number;
  /** Backlog (`bufferedAmount`) above which the next send reports a slow consumer (4508). */
  readonly maxSendBufferBytes: number;
  readonly allowOrigin: (origin: string | undefined) => boolean;
  readonly accept: ConnectionAcceptor;
  readonly logger: Logger;
}

/** An attached endpoint; `close()` detaches it from the http.Server (connections are the server's). */
export interface Endpoint {
  close(): void;
}

/** How long `ws` waits for the peer's half of a close handshake before destroying the socket. */
const CLOSE_HANDSHAKE_MS = 5_000;

export function attachWebSocketEndpoint(options: WebSocketEndpointOptions): Endpoint {
  // Frames up to maxFrameBytes are checked by us and refused with 4413 and a close frame. `ws`
  // aborts larger ones while they arrive, but it closes with 1009 before anyone can intervene, so
  // its limit sits above ours: only floods hit it, and the session still ends with 4413.
  const wssOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxFrameBytes * 2,
    closeTimeout: CLOSE_HANDSHAKE_MS,
  };
  const wss = new WebSocketServer(wssOptions);
  // Where clients derive it (trailing slashes removed), like `${path}/sockjs` and `${path}/poll`,
  // and as written: with `path: '/rt/'` a client given `ws://host/rt/` asks for `/rt`.
  const trimmed = options.path.replace(/\/+$/, '') || '/';
  const isOurs = (req: IncomingMessage): boolean => {
    const path = pathOf(req);
    return path === trimmed || path === options.path;
  };
  const stopListening = listenForUpgrades(options.server, (req, socket, head) => {
    if (!isOurs(req)) return false; // another listener's business
    if (!options.allowOrigin(req.headers.origin)) rejectUpgrade(socket, 403, 'Forbidden');
    else wss.handleUpgrade(req, socket, head, (ws) => wire(ws, req, options));
    return true;
  });
  const stopIntercepting = interceptRequests(options.server, (req, res) => {
    if (!req.headers['sec-websocket-key'] || !isOurs(req)) return false;
    refuseLostUpgrade(res);
    return true;
  });
  return {
    close() {
      stopListening();
      stopIntercepting();
      wss.close();
    },
  };
}

/**
 * A WebSocket handshake that arrives as a plain request: a proxy in between dropped its `Upgrade`
 * and `Connection` headers (nginx's `proxy_pass` without them, the most common misconfiguration).
 * Left to the application it went unanswered on a server with no catch-all route, and the client
 * waited its whole `connectTimeoutMs` before falling back, taking it for a slow link; answered at
 * once, the client falls back at once.
 */
function refuseLostUpgrade(res: ServerResponse): void {
  const message = 'WebSocket handshake without Upgrade header (a proxy dropped it)';
  res.writeHead(426, {
    Upgrade: 'websocket',
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(message),
  });
  res.end(message);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function wire(ws: WebSocket, req: IncomingMessage, options: WebSocketEndpointOptions): void {
  const connection = new WebSocketConnection(ws, req, options.maxSendBufferBytes, options.maxFrameBytes);
  const callbacks = options.accept(connection);
  connection.onSlowConsumer = (error) => callbacks.onProtocolError(error);
  ws.on('message', (data: RawData, isBinary: boolean) => {
    connection.inbound();
    onData(callbacks, data, isBinary, options.maxFrameBytes);
  });
  ws.on('close', (code: number, reason: Buffer) => callbacks.onClose(code, reason.toString()));
  ws.on('error', (error: Error & { code?: string }) => {
    // ws reports a peer's framing violations here, after it already started closing the socket.
    if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_')) {
      const closeCode =
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CloseCode.FrameTooLarge : CloseCode.ProtocolError;
      callbacks.onProtocolError(new ProtocolError(error.message, closeCode, { cause: error }));
    } else {
      options.logger.debug('surelink: websocket error', error);
    }
  });
}

function onData(callbacks: ConnectionCallbacks, data: RawData, isBinary: boolean, maxFrameBytes: number): void {
  if (isBinary) {
    callbacks.onProtocolError(new ProtocolError('binary frames are not part of the protocol'));
    return;
  }
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (bytes.length > maxFrameBytes) {
    callbacks.onProtocolError(
      new ProtocolError(`frame of ${bytes.length} bytes exceeds ${maxFrameBytes}`, CloseCode.FrameTooLarge),
    );
    return;
  }
  callbacks.onMessage(bytes.toString('utf8'));
}

class WebSocketConnection implements ServerConnection {
  readonly transport = 'websocket' as const;
  request: IncomingMessage | undefined;
  readonly maxMessageBytes: number;
  /** Told (once) when the client stops reading; set by `wire` once the connection was accepted. */
  onSlowConsumer: (error: ProtocolError) => void = () => {};
  readonly #ws: WebSocket;
  readonly #maxSendBufferBytes: number;
  #batch: Batcher | undefined;
  #slow = false;

  constructor(ws: WebSocket, request: IncomingMessage, maxSendBufferBytes: number, maxMessageBytes: number) {
    this.#ws = ws;
    this.request = request;
    this.#maxSendBufferBytes = maxSendBufferBytes;
    this.maxMessageBytes = maxMessageBytes;
  }

  startBatching(maxChars: number): void {
    this.#batch ??= batcher((text) => this.#write(text), maxChars);
  }

  send(text: string): void {
    if (this.#batch) this.#batch.push(text);
    else this.#write(text);
  }

  /** A message arrived: what the session answers goes at once (see `batcher`). */
  inbound(): void {
    this.#batch?.inbound();
  }

  /** One message; the backlog is checked before each. */
  #write(text: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN || this.#slow) return;
    if (this.#ws.bufferedAmount <= this.#maxSendBufferBytes) return this.#ws.send(text);
    // The backlog only grows while the client does not read: stop adding to it, and end the
    // session once the caller's send returned (it may be in the middle of a resume replay).
    this.#slow = true;
    const error = new ProtocolError(
      `client is not reading: ${this.#ws.bufferedAmount} bytes unsent, limit ${this.#maxSendBufferBytes}`,
      CloseCode.SlowConsumer,
    );
    queueMicrotask(() => this.onSlowConsumer(error));
  }

  close(code: number, reason: string): void {
    this.#batch?.flush();
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    const fitted = fitReason(reason);
    this.#ws.send(closeFrameText(code, fitted));
    this.#ws.close(code, fitted);
  }

  closeTransport(code: number, reason: string): void {
    this.#batch?.flush();
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(code, fitReason(reason));
  }

  terminate(): void {
    this.#ws.terminate();
  }
}
