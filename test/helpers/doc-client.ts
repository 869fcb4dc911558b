/**
 * A protocol client written from PROTOCOL.md alone, as a developer in another language would, to
 * check the reference server against the document. It sends exact frames and reads exact frames,
 * so a test can also misbehave on purpose: nothing here validates or repairs what goes out.
 * WebSocket uses `ws`; long polling uses the global `fetch`.
 */
import WebSocket from 'ws';

export type Frame = unknown[];

export interface Welcome {
  v: number;
  sid: string;
  resume: string;
  resumed: boolean;
  ack: number;
  hb: [number, number];
  b?: number;
}

export interface HelloFields {
  v?: number;
  ack?: number;
  auth?: string;
  resume?: string;
  b?: number;
  /** Fields this version does not define, which a receiver ignores. */
  [unknown: string]: unknown;
}

const WAIT_MS = 5000;

/** Frames in arrival order, with bounded waits; every frame stays in `all` for failure messages. */
class FrameQueue {
  readonly all: Frame[] = [];
  private unread: Frame[] = [];
  private wake: (() => void) | undefined;

  push(frame: Frame): void {
    this.all.push(frame);
    this.unread.push(frame);
    this.wake?.();
  }

  /** The next frame that `match` accepts; unread frames before it are passed over. */
  async next(match: (f: Frame) => boolean, timeoutMs: number, ended: () => boolean): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.unread.findIndex(match);
      if (i >= 0) {
        const [found] = this.unread.splice(0, i + 1).slice(-1);
        return found as Frame;
      }
      this.unread = [];
      const left = deadline - Date.now();
      if (left <= 0 || ended()) throw new Error(`no matching frame; got ${JSON.stringify(this.all).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100)); // re-checks `ended` meanwhile
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** What both transports share: the session-level bookkeeping of a client (numbering, acks). */
export abstract class DocLink {
  protected readonly queue = new FrameQueue();
  /** Each inbound transport message or body, parsed, with its UTF-8 size. */
  readonly messages: { value: unknown; bytes: number }[] = [];
  /** The first `close` frame received, if any. */
  closeFrame: Frame | undefined;
  /** Our next C→S sequence number and request id, and the highest S→C number we delivered. */
  seq = 0;
  requestId = 0;
  delivered = 0;
  welcome: Welcome | undefined;

  /** Sends frames as one transport message (WebSocket) or one POST body (long polling). */
  abstract send(...frames: Frame[]): Promise<void>;
  /** Sends text exactly as given, valid or not. */
  abstract sendText(text: string): Promise<void>;
  /** Whether the connection has ended (close frame, transport close, 404). */
  abstract get ended(): boolean;
  /** Drops the link without a close frame, like a cable pulled. */
  abstract drop(): Promise<void>;

  protected receiveFrames(frames: Frame[]): void {
    for (const f of frames) {
      if (f[0] === 'c' && this.closeFrame === undefined) this.closeFrame = f;
      this.queue.push(f);
    }
  }

  next(match: string | ((f: Frame) => boolean), timeoutMs = WAIT_MS): Promise<Frame> {
    const m = typeof match === 'string' ? (f: Frame) => f[0] === match : match;
    return this.queue.next(m, timeoutMs, () => this.ended);
  }

  /** The `close` frame's code, once it has come. */
  async closeCode(timeoutMs = WAIT_MS): Promise<number> {
    return (await this.next('c', timeoutMs))[1] as number;
  }

  async hello(fields: HelloFields = {}): Promise<Welcome> {
    await this.send(['h', { v: 1, ack: 0, ...fields }]);
    const w = (await this.next((f) => f[0] === 'w' || f[0] === 'c'))[1];
    if (typeof w !== 'object' || w === null) throw new Error(`refused: ${JSON.stringify(this.closeFrame)}`);
    this.welcome = w as Welcome;
    return this.welcome;
  }

  /** The frame of our next event, numbered, sent alone. */
  async event(name: string, ...data: unknown[]): Promise<Frame> {
    const f = ['e', ++this.seq, name, ...data];
    await this.send(f);
    return f;
  }

  async request(name: string, ...data: unknown[]): Promise<Frame> {
    const f = ['q', ++this.seq, ++this.requestId, name, ...data];
    await this.send(f);
    return f;
  }

  /** The next sequenced S→C frame; it counts as delivered, not acknowledged (send `["a",n]`). */
  async sequenced(timeoutMs = WAIT_MS): Promise<Frame> {
    const f = await this.next((x) => x[0] === 'e' || x[0] === 'r' || x[0] === 'q', timeoutMs);
    if (typeof f[1] === 'number' && f[1] > this.delivered) this.delivered = f[1];
    return f;
  }
}

export class DocWebSocket extends DocLink {
  /** The WebSocket close code, once the socket has closed. */
  readonly closed: Promise<number>;

  private constructor(private readonly ws: WebSocket) {
    super();
    this.closed = new Promise((resolve) => ws.on('close', (code: number) => resolve(code)));
    ws.on('message', (data: Buffer) => this.receive(data.toString('utf8')));
  }

  static async open(url: string): Promise<DocWebSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('WebSocket did not open')), WAIT_MS);
      ws.once('open', () => (clearTimeout(timer), resolve()));
      ws.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
    return new DocWebSocket(ws);
  }

  /** A message is one frame, or a batch: an array whose first element is an array. */
  private receive(text: string): void {
    const value = JSON.parse(text) as Frame;
    this.messages.push({ value, bytes: Buffer.byteLength(text) });
    this.receiveFrames(Array.isArray(value[0]) ? (value as Frame[]) : [value]);
  }

  get ended(): boolean {
    return this.ws.readyState >= WebSocket.CLOSING;
  }

  async send(...frames: Frame[]): Promise<void> {
    await this.sendText(JSON.stringify(frames.length === 1 ? frames[0] : frames));
  }

  async sendText(text: string): Promise<void> {
    this.ws.send(text);
    return Promise.resolve();
  }

  /** Stops reading, like a client that fell behind: the server's unsent data piles up. */
  pause(): void {
    this.ws.pause();
  }

  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  async drop(): Promise<void> {
    this.ws.terminate();
    await this.closed;
  }

  /** Teardown: closes the socket if still open. */
  async dispose(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) await this.drop();
  }
}

export interface HttpAnswer {
  method: string;
  status: number;
  /** A 200's parsed JSON body; other statuses: the text (`undefined` when empty). */
  body: unknown;
  /** The body's size in UTF-8 bytes. */
  bytes: number;
  headers: Headers;
}

/** Long polling: the opening POST with options, GET down, POST up, DELETE, numbered batches. */
export class DocPoll extends DocLink {
  /** Every answer on this id, in the order they completed. */
  readonly answers: HttpAnswer[] = [];
  /** Batch numbers in arrival order (numbered connections). */
  readonly numbers: number[] = [];
  /** The id is gone: a 404 came, or a `close` frame. */
  gone = false;
  private readonly abort = new AbortController();
  private nextNumber = 1;
  private readonly early = new Map<number, Frame[]>();
  private pumping = false;

  private constructor(
    readonly base: string,
    readonly c: string,
    readonly b: number | undefined,
  ) {
    super();
  }

  /** The opening POST, with `body` as it is: the raw answer. */
  static async opening(base: string, body?: string): Promise<HttpAnswer> {
    const init = { method: 'POST', signal: AbortSignal.timeout(WAIT_MS) };
    return answerOf('POST', await fetch(base, body === undefined ? init : { ...init, body }));
  }

  /** Opens a connection; `options` is the opening POST's body (`null`: an empty body). */
  static async open(base: string, options: object | null = { n: 1 }): Promise<DocPoll> {
    const a = await DocPoll.opening(base, options === null ? undefined : JSON.stringify(options));
    if (a.status !== 200) throw new Error(`opening POST: ${a.status}`);
    const { c, b } = a.body as { c: string; b?: number };
    return new DocPoll(base, c, b);
  }

  get url(): string {
    return `${this.base}?c=${encodeURIComponent(this.c)}`;
  }

  get ended(): boolean {
    return this.gone || this.closeFrame !== undefined;
  }

  /** One HTTP request on this id; a 200 body is taken in as frames, a 404 marks the id gone. */
  async http(method: string, body?: string, url = this.url): Promise<HttpAnswer> {
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(WAIT_MS * 2)]);
    const res = await fetch(url, body === undefined ? { method, signal } : { method, body, signal });
    const answer = await answerOf(method, res);
    this.answers.push(answer);
    if (url !== this.url) return answer; // another id, or none: not this connection's business
    if (res.status === 404) this.gone = true;
    if (res.status === 200 && Array.isArray(answer.body)) this.feed(answer.body, answer.bytes);
    return answer;
  }

  get(): Promise<HttpAnswer> {
    return this.http('GET');
  }

  post(text: string): Promise<HttpAnswer> {
    return this.http('POST', text);
  }

  del(): Promise<HttpAnswer> {
    return this.http('DELETE');
  }

  async send(...frames: Frame[]): Promise<void> {
    await this.post(JSON.stringify(frames));
  }

  async sendText(text: string): Promise<void> {
    await this.post(text);
  }

  /** Keeps one GET outstanding until the connection ends, as the document's client does. */
  pump(): this {
    if (this.pumping) return this;
    this.pumping = true;
    void (async () => {
      while (!this.ended && !this.abort.signal.aborted) {
        const a = await this.get().catch(() => undefined);
        if (a === undefined || (a.status !== 200 && a.status !== 404)) break;
      }
    })();
    return this;
  }

  /** A DELETE alone: "like a WebSocket dropping". */
  async drop(): Promise<void> {
    await this.del();
    this.gone = true;
  }

  /** Teardown: abandons every request in flight. */
  dispose(): void {
    this.abort.abort();
  }

  /** A numbered body starts with its number; batches are taken in number order. */
  private feed(body: unknown[], bytes: number): void {
    if (body.length === 0) return;
    this.messages.push({ value: body, bytes });
    if (typeof body[0] !== 'number') return this.receiveFrames(body as Frame[]);
    this.numbers.push(body[0]);
    this.early.set(body[0], body.slice(1) as Frame[]);
    for (let f = this.early.get(this.nextNumber); f !== undefined; f = this.early.get(this.nextNumber)) {
      this.early.delete(this.nextNumber++);
      this.receiveFrames(f);
    }
  }
}

/** Non-2xx bodies are text for humans; only a 200 carries JSON. */
async function answerOf(method: string, res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  const body = text === '' ? undefined : res.status === 200 ? (JSON.parse(text) as unknown) : text;
  return { method, status: res.status, body, bytes: Buffer.byteLength(text), headers: res.headers };
}
