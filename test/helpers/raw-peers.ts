/**
 * Raw protocol peers on each transport, for tests that need a client the real one would never be:
 * one that drops its TCP connection mid-request, stops reading, or never finishes its handshake.
 * Every socket is a real loopback socket of its own (no keep-alive pool), so what the server still
 * holds shows up in `http.Server#getConnections`.
 *
 * - websocket: `ws` on `/realtime`;
 * - longpoll: the opening POST, then GETs one after the other (one is always held), POSTs of frames;
 * - sockjs: an `xhr_streaming` response held open on its own socket, frames sent by `xhr_send`.
 */
import { request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';

export type PeerTransport = 'websocket' | 'longpoll' | 'sockjs';

export interface Welcome {
  readonly sid: string;
  readonly resume: string;
  readonly resumed: boolean;
}

export interface HelloOptions {
  readonly auth?: string;
  readonly resume?: string | undefined;
  /** What the peer acknowledges in its hello; @default the last seq it saw */
  readonly ack?: number;
}

export interface RawPeer {
  readonly transport: PeerTransport;
  /** Highest sequence number received from the server (events and responses). */
  readonly lastSeq: number;
  /** Every frame received, decoded. */
  readonly frames: readonly unknown[];
  hello(options?: HelloOptions): Promise<void>;
  /** Resolves with the first welcome frame (rejects after 5 s). */
  welcome(): Promise<Welcome>;
  /** Sends frames (each a JSON array such as `['e', 1, 'x', 1]`) in one message or POST. */
  send(...frames: unknown[]): Promise<void>;
  /** The TCP connection(s) vanish at once, no close frame, no FIN (longpoll: the held GET's). */
  reset(): void;
  /**
   * Starts a message it never finishes, then vanishes: on long polling a POST whose body stops
   * half way; elsewhere a frame half written to the socket.
   */
  resetMidMessage(): Promise<void>;
  /** Keeps its connection(s) open but reads nothing more. */
  stopReading(): void;
  /** Test teardown: every socket of the peer destroyed, whatever state it is in. */
  destroy(): void;
}

const WAIT_MS = 5_000;

/** Opens a peer at `base` (`http://127.0.0.1:port/realtime`); it has not said hello yet. */
export async function openPeer(transport: PeerTransport, base: string): Promise<RawPeer> {
  const peer = new Peer(transport);
  if (transport === 'websocket') await openWebSocket(peer, base);
  else if (transport === 'longpoll') await openLongPoll(peer, base);
  else await openSockJS(peer, base);
  return peer;
}

interface Wire {
  write(text: string): Promise<void>;
  reset(): void;
  resetMidMessage(): Promise<void>;
  stopReading(): void;
  destroy(): void;
}

class Peer implements RawPeer {
  readonly transport: PeerTransport;
  readonly frames: unknown[] = [];
  lastSeq = 0;
  wire: Wire | undefined;
  #welcomed: ((w: Welcome) => void) | undefined;
  #welcome: Welcome | undefined;

  constructor(transport: PeerTransport) {
    this.transport = transport;
  }

  /** One frame's text as the server sent it. */
  received(text: string): void {
    const frame = JSON.parse(text) as unknown[];
    this.frames.push(frame);
    const [type, body] = frame;
    if (type === 'w') {
      this.#welcome = body as Welcome;
      this.#welcomed?.(this.#welcome);
    } else if ((type === 'e' || type === 'r') && typeof body === 'number') this.lastSeq = Math.max(this.lastSeq, body);
  }

  hello(options: HelloOptions = {}): Promise<void> {
    const { auth, resume, ack = this.lastSeq } = options;
    return this.send(['h', { v: 1, ack, ...(auth === undefined ? {} : { auth }), ...(resume ? { resume } : {}) }]);
  }

  welcome(): Promise<Welcome> {
    if (this.#welcome) return Promise.resolve(this.#welcome);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.transport}: no welcome`)), WAIT_MS);
      this.#welcomed = (w) => {
        clearTimeout(timer);
        resolve(w);
      };
    });
  }

  send(...frames: unknown[]): Promise<void> {
    const texts = frames.map((f) => JSON.stringify(f));
    // A long-polling body is always an array of frames; a message elsewhere is one frame or a batch.
    const one = texts.length === 1 && this.transport !== 'longpoll';
    return this.#wire().write(one ? (texts[0] ?? '') : `[${texts.join(',')}]`);
  }

  reset(): void {
    this.#wire().reset();
  }

  resetMidMessage(): Promise<void> {
    return this.#wire().resetMidMessage();
  }

  stopReading(): void {
    this.#wire().stopReading();
  }

  destroy(): void {
    this.wire?.destroy();
  }

  #wire(): Wire {
    if (!this.wire) throw new Error('peer not open');
    return this.wire;
  }
}

async function openWebSocket(peer: Peer, base: string): Promise<void> {
  const ws = new WebSocket(base.replace(/^http/, 'ws'));
  let socket: Socket | undefined;
  ws.on('upgrade', (res: IncomingMessage) => (socket = res.socket as Socket));
  ws.on('message', (data) => peer.received(String(data)));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const destroy = (): void => void socket?.destroy();
  peer.wire = {
    write: (text) => new Promise((resolve) => ws.send(text, () => resolve())),
    reset: destroy,
    resetMidMessage: async () => {
      // A masked text frame header announcing 100 bytes, then 3 of them.
      socket?.write(Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4, 0x5b, 0x22, 0x65]));
      await pause(20);
      destroy();
    },
    stopReading: () => void socket?.pause(),
    destroy: () => ws.terminate(),
  };
}

/** A request on a socket of its own; resolves with the response body ('' when the socket died). */
function exchange(url: string, method: string, body?: string): { req: ClientRequest; done: Promise<Reply> } {
  const req = request(url, { method, agent: false });
  const done = new Promise<Reply>((resolve) => {
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
  });
  if (body !== undefined) req.end(body);
  else req.end();
  return { req, done };
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

async function openLongPoll(peer: Peer, base: string): Promise<void> {
  const poll = `${base}/poll`;
  const opened = await exchange(poll, 'POST', '').done;
  const url = `${poll}?c=${(JSON.parse(opened.body) as { c: string }).c}`;
  let held: ClientRequest | undefined;
  let polling = true;
  const loop = async (): Promise<void> => {
    while (polling) {
      const get = exchange(url, 'GET');
      held = get.req;
      const reply = await get.done;
      if (reply.status !== 200) return;
      for (const frame of JSON.parse(reply.body) as unknown[]) peer.received(JSON.stringify(frame));
    }
  };
  void loop();
  peer.wire = {
    write: async (text) => void (await exchange(url, 'POST', text).done),
    reset: () => {
      polling = false;
      held?.destroy();
    },
    resetMidMessage: async () => {
      polling = false;
      const post = request(url, { method: 'POST', agent: false, headers: { 'Content-Length': 100 } });
      post.on('error', () => {});
      post.write('[["e",');
      await pause(20);
      post.destroy();
      held?.destroy();
    },
    stopReading: () => {
      polling = false;
      held?.socket?.pause();
    },
    destroy: () => {
      polling = false;
      held?.destroy();
    },
  };
}

async function openSockJS(peer: Peer, base: string): Promise<void> {
  const session = `${base}/sockjs/000/${Math.random().toString(36).slice(2)}`;
  const stream = request(`${session}/xhr_streaming`, { method: 'POST', agent: false });
  stream.on('error', () => {});
  const opened = new Promise<IncomingMessage>((resolve) => stream.on('response', resolve));
  stream.end();
  const res = await opened;
  let buffered = '';
  res.setEncoding('utf8');
  res.on('error', () => {});
  res.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('a')) for (const text of JSON.parse(line.slice(1)) as string[]) peer.received(text);
    }
  });
  const send = (body: string): Promise<Reply> => exchange(`${session}/xhr_send`, 'POST', body).done;
  peer.wire = {
    // xhr_send takes a JSON array of messages: here one message, the frame or the batch.
    write: async (text) => void (await send(JSON.stringify([text]))),
    reset: () => stream.destroy(),
    resetMidMessage: async () => {
      const post = request(`${session}/xhr_send`, { method: 'POST', agent: false, headers: { 'Content-Length': 100 } });
      post.on('error', () => {});
      post.write('["[\\"e\\",');
      await pause(20);
      post.destroy();
      stream.destroy();
    },
    stopReading: () => void stream.socket?.pause(),
    destroy: () => stream.destroy(),
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
