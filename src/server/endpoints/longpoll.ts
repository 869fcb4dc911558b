/**
 * The long-polling endpoint (PROTOCOL.md, "Long polling"): a 'request' listener on the
 * http.Server that answers `${path}/poll` only, and leaves every other request to the
 * application's own handlers (and to the SockJS endpoint). It sits in front of the listeners
 * already there, so a catch-all handler (an express app's 404) never answers a poll too. Each
 * connection id becomes a `ServerConnection` (see longpoll-connection.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ProtocolError } from '../../errors/protocol.js';
import { CloseCode } from '../../protocol/close-codes.js';
import { MAX_DELAY_MS, systemClock } from '../../util/clock.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { ConnectionAcceptor } from '../connection.js';
import { interceptRequests } from './intercept-requests.js';
import { asksForNumbers, readBody, splitFrames, tooLarge } from './longpoll-body.js';
import { noContent, PollConnection, reply } from './longpoll-connection.js';
import type { PollSettings } from './longpoll-connection.js';
import type { Endpoint } from './websocket.js';

export interface LongPollEndpointOptions {
  readonly server: Server;
  /** The main path; the endpoint answers `${path}/poll` (trailing slashes of `path` ignored). */
  readonly path: string;
  readonly maxFrameBytes: number;
  readonly allowOrigin: (origin: string | undefined) => boolean;
  readonly accept: ConnectionAcceptor;
  readonly logger: Logger;
  /** How long a GET with nothing to send is held before it is answered `[]`. @default 25000 */
  readonly pollTimeoutMs?: number;
  /** Largest accepted POST body in bytes; larger ones get 413. @default maxFrameBytes */
  readonly maxBodyBytes?: number;
  /** Text waiting for a GET above which the next send reports a slow consumer (4508). @default 16777216 */
  readonly maxSendBufferBytes?: number;
  /** Added to `pollTimeoutMs`: a client with no held GET and no request for that long is gone. @default 10000 */
  readonly idleGraceMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /**
   * Whether one more connection may start its handshake; an opening POST it refuses gets 429
   * (4429 at the client) and no connection id. @default always
   */
  readonly admitsHandshake?: () => boolean;
}

const ALLOWED_METHODS = 'GET, POST, DELETE, OPTIONS';
const UNKNOWN_CONNECTION =
  "unknown connection: it ended, or another server process holds it (route all of a client's requests to one process)";

export function attachLongPollEndpoint(options: LongPollEndpointOptions): Endpoint {
  return new LongPollEndpoint(options);
}

class LongPollEndpoint implements Endpoint {
  readonly #options: LongPollEndpointOptions;
  readonly #pollPath: string;
  readonly #settings: PollSettings;
  readonly #maxBodyBytes: number;
  readonly #connections = new Map<string, PollConnection>();
  /**
   * Ids whose close frame went in a GET answer, each with when it stops counting (oldest first). A
   * POST the client sent before that answer reached it gets 204, not the 404 that would make it
   * reconnect before it read the close frame: the two travel on different HTTP connections.
   */
  readonly #farewells = new Map<string, number>();
  readonly #forget = (connection: PollConnection, farewell: boolean): void => {
    this.#connections.delete(connection.id);
    if (farewell && !this.#closed) {
      this.#forgetFarewells();
      this.#farewells.set(connection.id, this.#settings.clock.now() + FAREWELL_MS);
    }
    if (this.#closed && this.#connections.size === 0) this.#detach();
  };
  readonly #detach: () => void;
  #closed = false;

  constructor(options: LongPollEndpointOptions) {
    this.#options = options;
    this.#pollPath = `${options.path.replace(/\/+$/, '')}/poll`;
    const pollTimeoutMs = options.pollTimeoutMs ?? 25_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? options.maxFrameBytes;
    this.#settings = {
      clock: options.clock ?? systemClock,
      pollTimeoutMs,
      // Capped at what a timer holds (a longer one fires after 1 ms); only near-25-day polls notice.
      idleTimeoutMs: Math.min(pollTimeoutMs + (options.idleGraceMs ?? 10_000), MAX_DELAY_MS),
      maxQueuedChars: options.maxSendBufferBytes ?? 16 << 20,
      // `welcome.f`: a body holding one frame adds its brackets (at least 1: `f` is a positive integer).
      maxFrameBytes: Math.max(1, Math.min(options.maxFrameBytes, this.#maxBodyBytes - 2)),
    };
    this.#detach = interceptRequests(options.server, (req, res) => this.#intercept(req, res));
  }

  /**
   * New connections get 503 from now on; existing ones keep being served, since their close
   * frames still have to go out. The listener goes once the last of them ended.
   */
  close(): void {
    this.#closed = true;
    this.#farewells.clear();
    if (this.#connections.size === 0) this.#detach();
  }

  /**
   * Drops the farewells whose time is up (the oldest come first: no timer needed), and those from
   * before a wall clock was set back, which would otherwise wait for it to catch up.
   */
  #forgetFarewells(): void {
    const now = this.#settings.clock.now();
    for (const [id, until] of this.#farewells) {
      if (until > now && until <= now + FAREWELL_MS) return;
      this.#farewells.delete(id);
    }
  }

  #intercept(req: IncomingMessage, res: ServerResponse): boolean {
    if (pathOf(req) !== this.#pollPath) return false; // another listener's business
    this.#handle(req, res).catch((error: unknown) => {
      this.#options.logger.error('surelink: long-polling request failed', error);
      reply(res, 'internal error', 500);
    });
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    // On a refusal too: a browser hides a cross-origin answer without it, and its fetch fails as if
    // the network did (1006, retried for ever) instead of reading the 403 (4403, fatal). The page
    // learns no more than that its origin is not allowed; nothing of the request is processed.
    if (origin !== undefined) res.setHeader('Access-Control-Allow-Origin', origin);
    if (!this.#options.allowOrigin(origin)) return reply(res, 'origin not allowed', 403);
    const id = new URL(req.url ?? '/', 'http://localhost').searchParams.get('c');
    if (req.method === 'OPTIONS') return preflight(res);
    if (req.method === 'POST' && id === null) return this.#open(req, res);
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'DELETE') {
      res.setHeader('Allow', ALLOWED_METHODS);
      return reply(res, 'method not allowed', 405);
    }
    const connection = id === null ? undefined : this.#connections.get(id);
    // Besides an ended connection, an id unknown here is a load balancer spreading one
    // connection's requests over several processes: say so to whoever reads the 404.
    if (!connection) return id === null ? reply(res, 'missing connection id', 400) : this.#unknown(id, req, res);
    connection.touch();
    if (req.method === 'GET') return connection.poll(res);
    if (req.method === 'POST') return this.#upload(connection, req, res);
    connection.remove();
    noContent(res);
  }

  /**
   * A request for an id not (or no longer) here: 404, but a POST gets 204 for a while after a GET
   * took the id's close frame (see `#farewells`).
   */
  #unknown(id: string, req: IncomingMessage, res: ServerResponse): void {
    this.#forgetFarewells();
    if (req.method !== 'POST' || !this.#farewells.has(id)) return reply(res, UNKNOWN_CONNECTION, 404);
    req.resume(); // its frames came after the close: the session is over
    noContent(res);
  }

  async #open(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#closed) {
      req.resume();
      return reply(res, 'server shutting down', 503);
    }
    const body = await readBody(req, MAX_OPEN_BODY_BYTES);
    if (body === undefined) return; // the client went away
    if (this.#closed) return reply(res, 'server shutting down', 503);
    // Refused here, not with a close frame on a new id: that id would be held until a GET collects
    // the frame or the idle timeout (35 s), which a flood of opening POSTs never sends.
    if (this.#options.admitsHandshake?.() === false) return reply(res, 'too many connections in their handshake', 429);
    const id = randomBytes(16).toString('base64url');
    const connection = new PollConnection(id, req, this.#settings, this.#forget, asksForNumbers(body));
    this.#connections.set(connection.id, connection);
    connection.bind(this.#options.accept(connection));
    // `b`: the body limit, so the client batches up to it and never gets a 413 for a batch.
    reply(res, JSON.stringify({ c: connection.id, b: this.#maxBodyBytes }));
  }

  async #upload(connection: PollConnection, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const max = this.#maxBodyBytes;
    const body = await readBody(req, max);
    if (body === undefined) return; // the client went away mid-request
    // Ended while its body came in (a slow upload): as if it had come after, which it did for the session.
    if (connection.ended) return this.#unknown(connection.id, req, res);
    if (body === tooLarge) {
      reply(res, `body exceeds ${max} bytes`, 413);
      return connection.refuse(new ProtocolError(`long-polling body exceeds ${max} bytes`, CloseCode.FrameTooLarge));
    }
    const frames = splitFrames(body);
    if (!frames) {
      reply(res, 'body must be a JSON array of frames', 400);
      return connection.refuse(new ProtocolError('long-polling body is not a JSON array of frames'));
    }
    connection.receive(frames, res);
  }
}

/** How long a POST for an id whose close frame a GET took gets 204 instead of 404. */
const FAREWELL_MS = 10_000;

/** An opening POST carries at most a small JSON object of options; anything longer is ignored. */
const MAX_OPEN_BODY_BYTES = 1024;

function preflight(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE');
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
  res.setHeader('Access-Control-Max-Age', '600');
  noContent(res);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
