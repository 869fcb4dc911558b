/**
 * The transports of the document-only server (doc-server.ts). WebSocket: one frame per message, or
 * a batch to a client that announced `b`. Long polling, from PROTOCOL.md "Long polling": an opening
 * POST gives a connection id, GETs are held for S→C frames, POSTs carry C→S frames, DELETE drops
 * the connection. Numbered batches are honoured when the client asks with `"n":1` (and the server
 * option allows it). Not done: CORS and the 35 s liveness rule, which the tests do not reach.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { DocServer, Link, Wire } from './doc-server.js';

export function attachWebSocket(server: DocServer, path: string, makeLink: (wire: Wire) => Link): void {
  const wss = new WebSocketServer({ noServer: true });
  server.http.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const link = makeLink({
        write: (texts, batch) => {
          if (batch && texts.length > 1) ws.send(`[${texts.join(',')}]`);
          else for (const t of texts) ws.send(t);
        },
        // The same code on the WebSocket as in the close frame; a drop is a bare TCP end.
        end: (kind, code) => (kind === 'closed' ? ws.close(code) : kind === 'peer' ? ws.close() : ws.terminate()),
      });
      ws.on('message', (data, binary) =>
        binary ? link.end(4400, 'binary message') : link.receiveMessage(data.toString()),
      );
      ws.on('close', () => link.lost());
    });
  });
}

/** The largest POST body taken, announced as `b` in the opening answer. */
const MAX_BODY = 1 << 20;

/** One long-polling connection: the S→C frames waiting for a response, and the held GET. */
class PollConnection {
  readonly id = randomBytes(18).toString('base64url');
  readonly queue: string[] = [];
  held: ServerResponse | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private batchNo = 0;
  /** POSTs being answered: frames queued meanwhile go in the POST's own response. */
  posts = 0;
  /** Our close frame is queued; it only ever goes out in a GET response. */
  closing = false;
  link: Link | undefined;

  constructor(
    readonly numbered: boolean,
    readonly forget: () => void,
  ) {}

  /** Every queued frame as one body, with its batch number first when the client asked for them. */
  body(): string {
    const frames = this.queue.splice(0);
    return `[${this.numbered ? [++this.batchNo, ...frames].join(',') : frames.join(',')}]`;
  }

  hold(res: ServerResponse, timeoutMs: number): void {
    const older = this.take();
    if (older) reply(older, 200, '[]'); // a newer GET completes the older one at once
    this.held = res;
    this.timer = setTimeout(() => this.held === res && reply(this.take() as ServerResponse, 200, '[]'), timeoutMs);
    res.on('close', () => this.held === res && this.take());
    this.flush();
  }

  /** The held GET, no longer held. */
  take(): ServerResponse | undefined {
    const res = this.held;
    clearTimeout(this.timer);
    this.held = undefined;
    return res;
  }

  /** Answers the held GET with what is queued, unless a POST in progress is to carry it. */
  flush(): void {
    if (!this.held || this.queue.length === 0 || (this.posts > 0 && !this.closing)) return;
    reply(this.take() as ServerResponse, 200, this.body());
    if (this.closing) this.forget(); // the close frame is out: the id is gone
  }
}

function reply(res: ServerResponse, status: number, body?: string): void {
  res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(body);
}

/** The request body as text, or `undefined` when it is longer than `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

export function attachLongPoll(server: DocServer, path: string, makeLink: (wire: Wire) => Link): void {
  const connections = new Map<string, PollConnection>();
  const pollTimeoutMs = server.options.pollTimeoutMs ?? 25_000;

  const open = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let asked = false; // a body that is not a JSON object (or too long) is ignored
    try {
      asked = (JSON.parse((await readBody(req, 1024)) ?? '') as { n?: unknown } | null)?.n === 1;
    } catch {
      // empty or not JSON: no options
    }
    const conn: PollConnection = new PollConnection(asked && server.options.numbered !== false, () =>
      connections.delete(conn.id),
    );
    connections.set(conn.id, conn);
    conn.link = makeLink({
      write: (texts) => {
        conn.queue.push(...texts);
        conn.flush();
      },
      end: (kind) => {
        if (kind === 'closed') {
          conn.closing = true;
          // Already out in a GET response, or the held/next GET takes it.
          return conn.queue.length === 0 ? conn.forget() : conn.flush();
        }
        conn.forget();
        const held = conn.take();
        // The client's own close: it stopped polling, a 404 would be an error; a cut is a dead socket.
        if (held && kind === 'cut') held.destroy();
        else if (held) reply(held, kind === 'peer' ? 204 : 404);
      },
    });
    reply(res, 200, JSON.stringify({ c: conn.id, b: MAX_BODY }));
  };

  const post = async (conn: PollConnection, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const link = conn.link as Link;
    const text = await readBody(req, MAX_BODY);
    if (text === undefined) {
      reply(res, 413);
      return link.end(4413, 'body too large');
    }
    let frames: unknown;
    try {
      frames = JSON.parse(text);
    } catch {
      frames = undefined;
    }
    if (!Array.isArray(frames) || !frames.every(Array.isArray)) {
      reply(res, 400);
      return link.end(4400, 'body is not an array of frames');
    }
    if (conn.closing) return reply(res, 204);
    conn.posts++;
    link.receiveFrames(frames);
    // Numbered: answer once the work the frames started has run, with the frames it queued.
    if (conn.numbered) await new Promise((resolve) => setImmediate(resolve));
    conn.posts--;
    if (!conn.numbered || conn.closing || conn.queue.length === 0) reply(res, 204);
    else reply(res, 200, conn.body());
    conn.flush();
  };

  server.http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Cache-Control', 'no-store');
    const id = url.searchParams.get('c');
    const conn = id === null ? undefined : connections.get(id);
    if (url.pathname !== path) return reply(res, 404);
    if (!['GET', 'POST', 'DELETE', 'OPTIONS'].includes(req.method ?? '')) return reply(res, 405);
    if (req.method === 'OPTIONS') return reply(res, 204);
    if (id === null) return req.method === 'POST' ? void open(req, res) : reply(res, 400);
    if (!conn) return reply(res, 404);
    if (req.method === 'GET') return conn.hold(res, pollTimeoutMs);
    if (req.method === 'POST') return void post(conn, req, res);
    conn.link?.lost(); // DELETE: like a dropped WebSocket, the session stays resumable
    reply(res, 204);
  });
}
