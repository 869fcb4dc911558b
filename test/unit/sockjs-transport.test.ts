import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransportError } from '../../src/errors/transport.js';
import { CLOSE_WAIT_MS } from '../../src/protocol/limits.js';
import { createSockJSTransport, DEFAULT_SOCKJS_TRANSPORTS, sockjsTransport } from '../../src/transports/sockjs.js';
import type {
  CloseInfo,
  SockJSConstructor,
  TransportContext,
  TransportHandlers,
} from '../../src/transports/transport.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { FakeSockJS } from '../helpers/fake-sockjs.js';

// The lazy loader is replaced so each test decides whether (and when) sockjs-client "loads".
const loader = vi.hoisted(() => ({ load: vi.fn<() => Promise<SockJSConstructor>>() }));
vi.mock('../../src/transports/sockjs-loader.js', () => ({ loadSockJS: () => loader.load() }));

const Fake = FakeSockJS as SockJSConstructor;
const ctx: TransportContext = { clock: systemClock, logger: silentLogger, SockJS: Fake };
const url = 'http://127.0.0.1:1/realtime/sockjs';

function recorder() {
  const r = {
    opened: 0,
    messages: [] as string[],
    closes: [] as CloseInfo[],
    handlers: {
      onOpen: () => void r.opened++,
      onMessage: (text: string) => void r.messages.push(text),
      onClose: (info: CloseInfo) => void r.closes.push(info),
    } satisfies TransportHandlers,
  };
  return r;
}

/** Lets promise callbacks and zero-delay timers run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

async function connected(factory = sockjsTransport, context = ctx) {
  const r = recorder();
  const transport = factory.connect(url, r.handlers, context);
  await settle();
  const socket = FakeSockJS.instances.at(-1);
  if (!socket) throw new Error('no SockJS instance was created');
  return { r, transport, socket };
}

beforeEach(() => {
  FakeSockJS.instances = [];
  loader.load.mockReset();
  loader.load.mockRejectedValue(new Error('the loader must not be used here'));
});
afterEach(() => {
  vi.useRealTimers();
  delete (globalThis as { SockJS?: unknown }).SockJS;
});

describe('sockjs transport', () => {
  it('is always supported (loaded on demand) and passes every non-iframe sockjs-client transport', async () => {
    expect(sockjsTransport.name).toBe('sockjs');
    expect(sockjsTransport.isSupported({ clock: systemClock, logger: silentLogger })).toBe(true);
    const { socket } = await connected();
    expect(socket.url).toBe(url);
    expect(socket.options).toEqual({ transports: [...DEFAULT_SOCKJS_TRANSPORTS] });
    expect(DEFAULT_SOCKJS_TRANSPORTS).toContain('xhr-polling');
    expect(DEFAULT_SOCKJS_TRANSPORTS.some((t) => t.startsWith('iframe'))).toBe(false);
  });

  it('takes the sockjs-client transport list from createSockJSTransport', async () => {
    const { socket } = await connected(createSockJSTransport({ transports: ['xhr-streaming'] }));
    expect(socket.options).toEqual({ transports: ['xhr-streaming'] });
  });

  it('leaves its own websocket out when WebSocket already failed on this network', async () => {
    const { socket } = await connected(sockjsTransport, { ...ctx, avoidWebSocket: true });
    expect(socket.options).toEqual({ transports: DEFAULT_SOCKJS_TRANSPORTS.filter((t) => t !== 'websocket') });
  });

  it('fires nothing during connect(), then maps open, text messages and sends', async () => {
    const r = recorder();
    const transport = sockjsTransport.connect(url, r.handlers, ctx);
    expect(FakeSockJS.instances).toHaveLength(0); // created asynchronously, like the lazy load
    await settle();
    const socket = FakeSockJS.instances[0] as FakeSockJS;
    socket.open();
    socket.receive('["w",{}]');
    transport.send('["a",1]');
    expect(r.opened).toBe(1);
    expect(r.messages).toEqual(['["w",{}]']);
    expect(socket.sent).toEqual(['["a",1]']);
    expect(r.closes).toEqual([]);
  });

  it('closes with 4400 on a non-text message, once', async () => {
    const { r, socket } = await connected();
    socket.open();
    vi.useFakeTimers();
    socket.receive({ not: 'text' });
    expect(r.closes).toHaveLength(1);
    expect(r.closes[0]?.code).toBe(4400);
    vi.advanceTimersByTime(CLOSE_WAIT_MS);
    expect(socket.closeCalls).toEqual([[4400, 'binary frame received']]);
  });

  it.each([
    { code: 4403, wasClean: true, expected: 4403, what: 'a server close frame with an application code' },
    { code: 1000, wasClean: true, expected: 1000, what: 'a server close frame with 1000' },
    { code: 3000, wasClean: true, expected: 3000, what: 'the lowest application code' },
    { code: 1001, wasClean: true, expected: 1006, what: 'a close frame with a protocol-level code' },
    { code: 1002, wasClean: false, expected: 1006, what: "sockjs-client's 'Cannot connect to server'" },
    { code: 2000, wasClean: false, expected: 1006, what: "sockjs-client's 'All transports failed'" },
    { code: 1006, wasClean: false, expected: 1006, what: "sockjs-client's 'Server lost session'" },
    { code: 4401, wasClean: false, expected: 1006, what: "a sub-transport's own close code" },
  ])('maps $what ($code) to $expected', async ({ code, wasClean, expected }) => {
    const { r, socket } = await connected();
    socket.open();
    socket.drop(code, 'why', wasClean);
    socket.drop(code, 'again', wasClean); // a misbehaving implementation: still one onClose
    expect(r.closes).toHaveLength(1);
    expect(r.closes[0]?.code).toBe(expected);
    if (expected === 1006) {
      expect(r.closes[0]?.error).toBeInstanceOf(TransportError);
      expect(r.closes[0]?.reason).toContain(`SockJS code ${code}`);
    } else {
      expect(r.closes[0]).toEqual({ code, reason: 'why' });
    }
  });

  it('reports a failure to connect as 1006 with a clear error', async () => {
    const { r, socket } = await connected();
    socket.drop(2000, 'All transports failed', false);
    expect(r.opened).toBe(0);
    expect(r.closes).toHaveLength(1);
    expect(r.closes[0]?.code).toBe(1006);
    expect(r.closes[0]?.error?.message).toMatch(/SockJS could not connect: All transports failed/);
  });

  it('close() fires nothing afterwards and never throws, whatever the code and reason', async () => {
    const { r, transport, socket } = await connected();
    socket.open();
    vi.useFakeTimers();
    expect(() => transport.close(1006, 'x'.repeat(300))).not.toThrow();
    expect(() => transport.close(4000, 'again')).not.toThrow(); // already closed: sockjs-client would throw
    socket.receive('late');
    vi.advanceTimersByTime(CLOSE_WAIT_MS); // then the fake dispatches its close event like sockjs-client: on a timer
    vi.runAllTimers();
    expect(socket.closeCalls).toEqual([[1000, 'x'.repeat(123)]]);
    expect(r).toMatchObject({ opened: 1, messages: [], closes: [] });
  });

  it.each([
    [1000, 1000],
    [4000, 4000],
    [4999, 4999],
    [3000, 3000],
    [1001, 1000],
    [1006, 1000],
    [1011, 1000],
    [2000, 1000],
    [5000, 1000],
  ])('close(%i) reaches sockjs-client as %i', async (code, wire) => {
    const { transport, socket } = await connected();
    socket.open();
    vi.useFakeTimers();
    transport.close(code, 'bye');
    vi.advanceTimersByTime(CLOSE_WAIT_MS);
    expect(socket.closeCalls).toEqual([[wire, 'bye']]);
  });

  it('closing an open socket on purpose waits for the server to close it, CLOSE_WAIT_MS at most', async () => {
    // sockjs-client's close() aborts the XHR that carries what was sent last (the close frame).
    const { transport, socket } = await connected();
    const { transport: other, socket: closedByServer } = await connected();
    socket.open();
    closedByServer.open();
    vi.useFakeTimers();
    transport.send('["c",1000,"client closed"]');
    transport.close(1000, 'bye');
    vi.advanceTimersByTime(CLOSE_WAIT_MS - 1);
    expect(socket.closeCalls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(socket.closeCalls).toEqual([[1000, 'bye']]);
    // The server closed it first: nothing more to do (the fake throws on a second close, like sockjs-client's _close).
    other.close(1000, 'bye');
    closedByServer.drop(1000, 'client closed', true);
    expect(() => vi.advanceTimersByTime(CLOSE_WAIT_MS)).not.toThrow();
    expect(closedByServer.closeCalls).toEqual([]);
  });

  it('close() before open closes the socket and fires nothing', async () => {
    const { r, transport, socket } = await connected();
    transport.close(4001, 'connect timeout');
    socket.open();
    await settle();
    expect(socket.closeCalls).toEqual([[4001, 'connect timeout']]);
    expect(r).toMatchObject({ opened: 0, messages: [], closes: [] });
  });

  it('close() right after connect() means no socket is ever created', async () => {
    const r = recorder();
    sockjsTransport.connect(url, r.handlers, ctx).close(1000, 'cancelled');
    await settle();
    expect(FakeSockJS.instances).toHaveLength(0);
    expect(r.closes).toEqual([]);
  });

  it('loads sockjs-client lazily when none is injected; close() during the load wins', async () => {
    let resolveLoad: (ctor: SockJSConstructor) => void = () => {};
    loader.load.mockReturnValue(new Promise((resolve) => (resolveLoad = resolve)));
    const r = recorder();
    const transport = sockjsTransport.connect(url, r.handlers, { clock: systemClock, logger: silentLogger });
    expect(loader.load).toHaveBeenCalledTimes(1);
    transport.close(1000, 'cancelled');
    resolveLoad(Fake);
    await settle();
    expect(FakeSockJS.instances).toHaveLength(0);
    expect(r.closes).toEqual([]);
  });

  it('uses the lazily loaded constructor', async () => {
    loader.load.mockResolvedValue(Fake);
    const { r, socket } = await connected(sockjsTransport, { clock: systemClock, logger: silentLogger });
    socket.open();
    expect(r.opened).toBe(1);
  });

  it('prefers window.SockJS (sockjs-client loaded by the page) over loading it again', async () => {
    (globalThis as { SockJS?: unknown }).SockJS = Fake;
    const { socket } = await connected(sockjsTransport, { clock: systemClock, logger: silentLogger });
    expect(socket).toBeInstanceOf(FakeSockJS);
    expect(loader.load).not.toHaveBeenCalled();
  });

  it('a failed load ends the attempt with one onClose carrying the TransportError', async () => {
    const failure = new TransportError('sockjs', 'could not load sockjs-client');
    loader.load.mockRejectedValue(failure);
    const r = recorder();
    sockjsTransport.connect(url, r.handlers, { clock: systemClock, logger: silentLogger });
    expect(r.closes).toEqual([]); // not during connect()
    await settle();
    expect(r.closes).toEqual([{ code: 1006, reason: 'could not load sockjs-client', error: failure }]);
    expect(r.opened).toBe(0);
  });

  it('wraps any other load or constructor failure in a TransportError', async () => {
    loader.load.mockRejectedValue(new Error('chunk failed'));
    const a = recorder();
    sockjsTransport.connect(url, a.handlers, { clock: systemClock, logger: silentLogger });
    const Throwing = class {
      constructor() {
        throw new SyntaxError("The URL's scheme must be either 'http:' or 'https:'");
      }
    } as unknown as SockJSConstructor;
    const b = recorder();
    sockjsTransport.connect('ws://x', b.handlers, { ...ctx, SockJS: Throwing });
    await settle();
    for (const [r, text] of [
      [a, 'could not load sockjs-client: Error: chunk failed'],
      [b, 'SockJS constructor threw: SyntaxError'],
    ] as const) {
      expect(r.closes).toHaveLength(1);
      expect(r.closes[0]?.code).toBe(1006);
      expect(r.closes[0]?.error).toBeInstanceOf(TransportError);
      expect(r.closes[0]?.reason).toContain(text);
    }
  });
});
