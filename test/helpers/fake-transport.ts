/**
 * A scripted transport for client units: each `connect` creates a FakeLink the test drives by
 * hand (open it, push server frames, close it), and every frame the client sends is recorded.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { CLIENT_FRAMES, encodeFrame } from '../../src/protocol/codec.js';
import { decodeMessage } from './decode.js';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import type { Clock } from '../../src/util/clock.js';
import type { Frame } from '../../src/protocol/frames.js';
import type {
  CloseInfo,
  Transport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportName,
} from '../../src/transports/transport.js';

export class FakeLink implements Transport {
  readonly name: TransportName;
  readonly url: string;
  readonly sent: string[] = [];
  closedWith: { code: number; reason: string } | undefined;
  #handlers: TransportHandlers;

  constructor(name: TransportName, url: string, handlers: TransportHandlers) {
    this.name = name;
    this.url = url;
    this.#handlers = handlers;
  }

  /** Frames the client sent, decoded (a batch counts as its frames). */
  get frames(): Frame[] {
    return this.sent.flatMap((t) => {
      const frames = decodeMessage(CLIENT_FRAMES, t);
      if (frames instanceof Error) throw frames;
      return frames;
    });
  }

  framesOf<T extends Frame['type']>(type: T): Extract<Frame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<Frame, { type: T }> => f.type === type);
  }

  send(data: string): void {
    if (this.closedWith) throw new Error('send after close');
    this.sent.push(data);
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }

  // --- driven by the test ---
  open(): void {
    this.#handlers.onOpen();
  }

  push(frame: Frame | string): void {
    this.#handlers.onMessage(typeof frame === 'string' ? frame : encodeFrame(frame));
  }

  welcome(over: Partial<Extract<Frame, { type: 'welcome' }>> = {}): void {
    this.push({
      type: 'welcome',
      v: 1,
      sid: 's1',
      resume: 'r1',
      resumed: false,
      ack: 0,
      hb: { intervalMs: 20_000, timeoutMs: 10_000 },
      ...over,
    });
  }

  /** open + welcome */
  accept(over: Partial<Extract<Frame, { type: 'welcome' }>> = {}): void {
    this.open();
    this.welcome(over);
  }

  drop(info: CloseInfo = { code: 1006, reason: 'dropped' }): void {
    this.#handlers.onClose(info);
  }
}

export class FakeTransport implements TransportFactory {
  readonly name: TransportName;
  readonly links: FakeLink[] = [];
  /** The context each connect got, in order. */
  readonly contexts: TransportContext[] = [];
  supported: true | string = true;

  constructor(name: TransportName = 'websocket') {
    this.name = name;
  }

  get last(): FakeLink {
    const link = this.links.at(-1);
    if (!link) throw new Error('no connection yet');
    return link;
  }

  isSupported(): true | string {
    return this.supported;
  }

  connect(url: string, handlers: TransportHandlers, ctx: TransportContext): Transport {
    this.contexts.push(ctx);
    const link = new FakeLink(this.name, url, handlers);
    this.links.push(link);
    return link;
  }
}

/**
 * The per-test frame of the client units: fake timers and `reset()` (a fresh FakeTransport and
 * client list) before each test; every client in `made()` closed, and real timers back, after it.
 */
export function useFakeClients(reset: () => void, made: () => readonly { close(): void }[]): void {
  beforeEach(() => {
    vi.useFakeTimers();
    reset();
  });
  afterEach(() => {
    for (const c of made()) c.close();
    vi.useRealTimers();
  });
}

/**
 * Options of a client a test drives step by step over `fake` on `clock`: it connects when told,
 * retries after 1 ms, and reads no page lifecycle and no remembered transport.
 */
export function drivenOptions(fake: FakeTransport, clock: Clock): ClientOptions {
  return {
    transports: [fake],
    clock,
    lifecycle: false,
    autoConnect: false,
    rememberTransport: false,
    reconnect: { policy: () => 1 },
  };
}

/** Lets the client's pending timers at 0 ms and microtasks run (fake timers). */
export const settle = (): Promise<unknown> => vi.advanceTimersByTimeAsync(0);

/** Clients on a FakeTransport made fresh for each test (`useFakeClients`), all closed after it. */
export interface FakeClients {
  /** This test's transport. */
  readonly fake: FakeTransport;
  /** A client on `fake` with the fixture's defaults, then `options`; no page lifecycle, no remembered transport. */
  make(options?: ClientOptions): RealtimeClient;
  /** `make`, then its first link accepted: open. */
  connected(options?: ClientOptions): Promise<RealtimeClient>;
}

export function useFakeClientFixture(defaults: ClientOptions = {}): FakeClients {
  let fake = new FakeTransport();
  let clients: RealtimeClient[] = [];
  useFakeClients(
    () => {
      fake = new FakeTransport();
      clients = [];
    },
    () => clients,
  );
  const make = (options: ClientOptions = {}): RealtimeClient => {
    const c = new RealtimeClient('ws://test.invalid/realtime', {
      transports: [fake],
      lifecycle: false,
      rememberTransport: false,
      ...defaults,
      ...options,
    });
    clients.push(c);
    return c;
  };
  return {
    get fake() {
      return fake;
    },
    make,
    async connected(options) {
      const c = make(options);
      await settle();
      fake.last.accept();
      await settle();
      return c;
    },
  };
}
