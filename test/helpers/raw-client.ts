/**
 * Test helpers for the server: a raw `ws` client that speaks protocol frames through the shared
 * codec (no surelink client involved), and a fixture that starts real http + realtime servers on
 * 127.0.0.1 port 0 and stops everything it started.
 */
import { afterEach } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { ValidEventMap, ValidSendMap } from '../../src/client/event-types.js';
import { ProtocolError } from '../../src/errors/protocol.js';
import { SERVER_FRAMES, encodeFrame } from '../../src/protocol/codec.js';
import { decodeMessage } from './decode.js';
import { PROTOCOL_VERSION } from '../../src/protocol/frames.js';
import type { Frame, FrameType, HelloFrame, WelcomeFrame } from '../../src/protocol/frames.js';
import { createRealtimeServer } from '../../src/server/index.js';
import type { EndInfo, RealtimeServer, RealtimeServerOptions, ServerSession } from '../../src/server/index.js';

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

type FrameOf<T extends FrameType> = Extract<Frame, { type: T }>;

/** Default wait for anything in these tests: generous, so a busy machine does not flake. */
export const WAIT_MS = 5_000;

export class RawClient {
  /** Every frame received, in order (the frames of a batch one by one). */
  readonly received: Frame[] = [];
  /** Every message received, as text: one frame, or a batch when the hello announced `b`. */
  readonly messages: string[] = [];
  /** Answer server pings automatically. */
  autoPong = false;
  readonly closed: Promise<Closed>;
  readonly #ws: WebSocket;
  #cursor = 0;
  #wake: (() => void) | null = null;
  #closedInfo: Closed | null = null;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.#closedInfo = { code, reason: reason.toString() };
        resolve(this.#closedInfo);
        this.#wake?.();
      });
    });
    ws.on('message', (data: Buffer) => this.#onMessage(data.toString()));
    ws.on('error', () => {}); // surfaces as 'close'
  }

  static open(url: string, options: { origin?: string } = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options.origin === undefined ? {} : { origin: options.origin });
    const client = new RawClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  send(frame: Frame): void {
    this.sendText(encodeFrame(frame));
  }

  sendText(text: string): void {
    this.#ws.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    this.#ws.send(bytes, { binary: true });
  }

  /** Sends hello (version 1, ack 0 unless overridden) and waits for welcome. */
  async handshake(hello: Partial<Omit<HelloFrame, 'type'>> = {}): Promise<WelcomeFrame> {
    this.send({ type: 'hello', v: PROTOCOL_VERSION, ack: 0, ...hello });
    return await this.next('welcome');
  }

  /** The next received frame of `type` (frames of other types are skipped but stay in `received`). */
  async next<T extends FrameType>(type: T, timeoutMs = WAIT_MS): Promise<FrameOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.received.length) {
        const frame = this.received[this.#cursor++] as Frame;
        if (frame.type === type) return frame as FrameOf<T>;
      }
      if (this.#closedInfo) throw new Error(`closed (${this.#closedInfo.code}) while waiting for ${type}`);
      if (!(await this.#waitForFrame(deadline - Date.now())))
        throw new Error(`no ${type} frame within ${timeoutMs} ms`);
    }
  }

  /** Waits for the connection to close and returns its code; fails after `timeoutMs`. */
  async waitClosed(timeoutMs = WAIT_MS): Promise<Closed> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** All received frames of one type. */
  all<T extends FrameType>(type: T): FrameOf<T>[] {
    return this.received.filter((f): f is FrameOf<T> => f.type === type);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  close(code = 1000): void {
    this.#ws.close(code);
  }

  #onMessage(text: string): void {
    this.messages.push(text);
    const frames = decodeMessage(SERVER_FRAMES, text);
    if (frames instanceof ProtocolError) throw new Error(`server sent an invalid message: ${text}`, { cause: frames });
    for (const frame of frames) {
      this.received.push(frame);
      if (this.autoPong && frame.type === 'ping') this.send({ type: 'pong', ts: frame.ts });
    }
    this.#wake?.();
  }

  #waitForFrame(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(true);
      };
    });
  }
}

export interface Started<CE extends object, SE extends object, Id> {
  readonly rt: RealtimeServer<CE, SE, Id>;
  readonly http: Server;
  /** ws://127.0.0.1:port/realtime (or the given path) */
  readonly url: string;
}

/** Starts servers and clients for one test and stops all of them in `cleanup()` (call in afterEach). */
export class Fixture {
  readonly #servers: { rt: { close(): Promise<void> }; http: Server }[] = [];
  readonly #clients: RawClient[] = [];

  async server<
    CE extends ValidSendMap<CE> & object = Record<string, unknown>,
    SE extends ValidEventMap<SE> & object = Record<string, unknown>,
    Id = unknown,
  >(options: Omit<RealtimeServerOptions<Id>, 'server'> = {}): Promise<Started<CE, SE, Id>> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const rt = createRealtimeServer<CE, SE, Id>({ ...options, server: http });
    this.#servers.push({ rt, http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    return { rt, http, url: `ws://127.0.0.1:${port}${options.path ?? '/realtime'}` };
  }

  async client(url: string, options: { origin?: string } = {}): Promise<RawClient> {
    const client = await RawClient.open(url, options);
    this.#clients.push(client);
    return client;
  }

  /** A client that already completed the handshake. */
  async connected(
    url: string,
    hello: Partial<Omit<HelloFrame, 'type'>> = {},
  ): Promise<{ client: RawClient; welcome: WelcomeFrame }> {
    const client = await this.client(url);
    return { client, welcome: await client.handshake(hello) };
  }

  async cleanup(): Promise<void> {
    for (const client of this.#clients.splice(0)) client.terminate();
    for (const { rt, http } of this.#servers.splice(0)) {
      await rt.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

/** Resolves with the first value passed to the returned callback; fails after `timeoutMs`. */
export function deferred<T>(timeoutMs = WAIT_MS): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = (value) => {
      clearTimeout(timer);
      res(value);
    };
    timer = setTimeout(() => rej(new Error(`not resolved within ${timeoutMs} ms`)), timeoutMs);
  });
  // A test that failed earlier may never await it: keep that from surfacing as an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve };
}

/** Polls `check` until it is true (bounded); for server-side state with no event to wait on. */
export async function until(check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends 16 KiB events `blob`, a macrotask apart in batches, until the session ends; returns the characters sent. */
export async function flood(session: ServerSession, ended: Promise<EndInfo>, maxBytes: number): Promise<number> {
  const payload = 'x'.repeat(16 * 1024);
  let over = false;
  void ended.then(() => (over = true));
  let sent = 0;
  while (!over && sent < maxBytes) {
    for (let i = 0; i < 16; i++) session.send('blob', payload);
    sent += 16 * payload.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

/**
 * A `Fixture` torn down after each test, and a list of more teardown steps (`cleanup.push(fn)`),
 * run before it, newest first.
 */
export function useFixture(): { fx: Fixture; cleanup: (() => unknown)[] } {
  const fx = new Fixture();
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await fx.cleanup();
  });
  return { fx, cleanup };
}
