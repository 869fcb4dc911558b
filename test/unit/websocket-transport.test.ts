import { EventEmitter } from 'node:events';
import { Server, WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import { ProtocolError } from '../../src/errors/protocol.js';
import { TransportError } from '../../src/errors/transport.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import { websocketTransport } from '../../src/transports/websocket.js';
import type { CloseInfo, TransportContext, WebSocketConstructor } from '../../src/transports/transport.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { ManualClock, flushMicrotasks } from '../helpers/manual-clock.js';

const url = 'ws://mock.test/realtime';
const ctx: TransportContext = {
  clock: systemClock,
  logger: silentLogger,
  WebSocket: MockWebSocket as unknown as WebSocketConstructor,
};

let server: Server | undefined;
afterEach(() => {
  server?.stop();
  server = undefined;
});

function handlers() {
  return {
    opened: vi.fn(),
    messages: [] as string[],
    closes: [] as CloseInfo[],
    get h() {
      return {
        onOpen: this.opened,
        onMessage: (t: string) => this.messages.push(t),
        onClose: (i: CloseInfo) => this.closes.push(i),
      };
    },
  };
}

const until = (cond: () => boolean) => vi.waitFor(() => expect(cond()).toBe(true), { timeout: 2000, interval: 5 });

describe('websocket transport (mock-socket)', () => {
  it('reports support only when a WebSocket implementation exists', () => {
    expect(websocketTransport.isSupported(ctx)).toBe(true);
    const saved = globalThis.WebSocket;
    try {
      Reflect.deleteProperty(globalThis, 'WebSocket');
      expect(websocketTransport.isSupported({ clock: systemClock, logger: silentLogger })).toMatch(/no WebSocket/);
    } finally {
      globalThis.WebSocket = saved;
    }
  });

  it('opens, exchanges text frames both ways and reports the server close code', async () => {
    server = new Server(url);
    const got: string[] = [];
    server.on('connection', (socket) => {
      socket.on('message', (data) => {
        got.push(String(data));
        socket.send(`echo:${String(data)}`);
      });
    });
    const t = handlers();
    const transport = websocketTransport.connect(url, t.h, ctx);
    await until(() => t.opened.mock.calls.length === 1);
    transport.send('hello');
    await until(() => t.messages.length === 1);
    expect(got).toEqual(['hello']);
    expect(t.messages).toEqual(['echo:hello']);
    server.clients()[0]?.close({ code: 4401, reason: 'no', wasClean: true });
    await until(() => t.closes.length === 1);
    expect(t.closes[0]).toMatchObject({ code: 4401, reason: 'no' });
  });

  it('reports a failed connection as one close with code 1006', async () => {
    const t = handlers();
    websocketTransport.connect('ws://nobody.test/x', t.h, ctx);
    await until(() => t.closes.length === 1);
    expect(t.opened).not.toHaveBeenCalled();
    expect(t.closes[0]?.code).toBe(1006);
  });

  it('fires no handler after close() and sends an application close code', async () => {
    server = new Server(url);
    const closedWith: number[] = [];
    server.on('connection', (socket) =>
      // mock-socket types the close listener without its event; it does pass one.
      socket.on('close', ((ev: CloseEvent) => {
        closedWith.push(ev.code);
      }) as () => void),
    );
    const t = handlers();
    const transport = websocketTransport.connect(url, t.h, ctx);
    await until(() => t.opened.mock.calls.length === 1);
    transport.close(4400, 'bad frame');
    server.emit('message', 'late');
    await until(() => closedWith.length === 1);
    expect(closedWith).toEqual([4400]);
    expect(t.messages).toEqual([]);
    expect(t.closes).toEqual([]);
  });

  it('turns a binary frame into a protocol close (4400)', async () => {
    server = new Server(url);
    server.on('connection', (socket) => socket.send(new ArrayBuffer(4) as unknown as string));
    const t = handlers();
    websocketTransport.connect(url, t.h, ctx);
    await until(() => t.closes.length === 1);
    expect(t.closes[0]?.code).toBe(4400);
  });
});

/**
 * A socket with the `ws` package's own API (an EventEmitter with `terminate`): the adapter listens
 * on its events instead of the `on*` slots, telling them apart by their arguments.
 */
class WsLikeSocket extends EventEmitter {
  readonly readyState = 1;
  binaryType = 'nodebuffer';
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  readonly sent: string[] = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  terminated = false;
  static last: WsLikeSocket | undefined;

  constructor(readonly url: string) {
    super();
    WsLikeSocket.last = this;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
  }

  terminate(): void {
    this.terminated = true;
  }
}

describe('websocket transport (ws EventEmitter API)', () => {
  const wsCtx: TransportContext = {
    clock: systemClock,
    logger: silentLogger,
    WebSocket: WsLikeSocket as unknown as WebSocketConstructor,
  };

  function open() {
    const t = handlers();
    const transport = websocketTransport.connect(url, t.h, wsCtx);
    const socket = WsLikeSocket.last as WsLikeSocket;
    return { t, transport, socket };
  }

  it('reports open, text frames (Buffers) and the close code and reason', () => {
    const { t, transport, socket } = open();
    expect(socket.listenerCount('message')).toBe(0); // added once open
    socket.emit('open');
    expect(t.opened).toHaveBeenCalledOnce();
    expect(socket.listenerCount('open')).toBe(0);
    expect(socket.listenerCount('message')).toBe(1);
    socket.emit('message', Buffer.from('["e",1,"chat",{"text":"é"}]'), false);
    expect(t.messages).toEqual(['["e",1,"chat",{"text":"é"}]']);
    transport.send('hello');
    expect(socket.sent).toEqual(['hello']);
    socket.emit('close', 4401, Buffer.from('no'));
    expect(t.closes).toEqual([{ code: 4401, reason: 'no' }]);
  });

  it('a binary message closes with 4400', () => {
    const { t, socket } = open();
    socket.emit('open');
    socket.emit('message', Buffer.from([1, 2]), true);
    expect(t.closes[0]?.code).toBe(4400);
    expect(socket.closedWith?.[0]).toBe(4400);
  });

  it('an error before open is kept for the close, reported as 1006', () => {
    const { t, socket } = open();
    socket.emit('error', new Error('ECONNREFUSED'));
    socket.emit('close', 1006, Buffer.from(''));
    expect(t.opened).not.toHaveBeenCalled();
    expect(t.closes[0]).toMatchObject({ code: 1006, error: expect.any(Error) });
  });

  it("keeps what ws says went wrong (a refused connection, the upgrade's HTTP status) in the close's error", () => {
    const { t, socket } = open();
    const refused = new Error('Unexpected server response: 401');
    socket.emit('error', refused);
    socket.emit('close', 1006, Buffer.from(''));
    const error = t.closes[0]?.error;
    expect(error).toBeInstanceOf(TransportError);
    expect(error?.message).toContain('Unexpected server response: 401');
    expect(error?.cause).toBe(refused);
  });

  it('after close() no handler fires, errors are still absorbed, and a dead link is terminated', () => {
    const { t, transport, socket } = open();
    socket.emit('open');
    transport.close(4000, 'heartbeat timeout');
    expect(socket.terminated).toBe(true);
    socket.emit('message', Buffer.from('late'), false);
    expect(() => socket.emit('error', new Error('closed before open'))).not.toThrow();
    socket.emit('close', 1006, Buffer.from(''));
    expect(t.messages).toEqual([]);
    expect(t.closes).toEqual([]);
  });
});

describe('a binary frame, as the client reports it (ws EventEmitter API)', () => {
  it.each(['raw', 'surelink'] as const)(
    '%s mode: one ProtocolError (4400) as `error`, the socket closed with 4400, and a reconnect',
    async (protocol) => {
      const clock = new ManualClock();
      const c = new RealtimeClient(url, {
        WebSocket: WsLikeSocket as unknown as WebSocketConstructor,
        transports: ['websocket'],
        protocol,
        clock,
        lifecycle: false,
        rememberTransport: false,
        reconnect: { policy: () => 1 },
      });
      const seen: unknown[] = [];
      c.on('error', (e) => seen.push(e));
      c.on('close', (e) => seen.push(e));
      await flushMicrotasks();
      const socket = WsLikeSocket.last as WsLikeSocket;
      socket.emit('open');
      if (protocol === 'surelink') {
        const welcome = { type: 'welcome', v: 1, sid: 's', resume: 'r', resumed: false, ack: 0 } as const;
        socket.emit('message', Buffer.from(encodeFrame({ ...welcome, hb: { intervalMs: 0, timeoutMs: 0 } })), false);
      }
      await flushMicrotasks();
      expect(c.state).toBe('open');
      socket.emit('message', Buffer.from([1, 2]), true);
      expect(socket.closedWith).toEqual([4400, 'binary frame received']);
      expect(seen).toEqual([
        { code: 4400, reason: 'binary frame received', willReconnect: true },
        expect.any(ProtocolError),
      ]);
      expect(seen[1]).toMatchObject({ code: 'PROTOCOL', closeCode: 4400, message: 'binary frame received' });
      expect(c.state).toBe('reconnecting');
      clock.advance(1);
      await flushMicrotasks();
      expect(WsLikeSocket.last).not.toBe(socket);
      c.close();
    },
  );
});
