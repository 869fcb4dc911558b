// The SockJS transport's memory of the sockjs-client sub-transport that opened at a URL: a
// reconnect asks for it alone, and for the whole list in the same connection when it fails.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createSockJSTransport, DEFAULT_SOCKJS_TRANSPORTS } from '../../src/transports/sockjs.js';
import type {
  CloseInfo,
  SockJSConstructor,
  TransportContext,
  TransportFactory,
} from '../../src/transports/transport.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { FakeSockJS } from '../helpers/fake-sockjs.js';

const loader = vi.hoisted(() => ({ load: vi.fn<() => Promise<SockJSConstructor>>() }));
vi.mock('../../src/transports/sockjs-loader.js', () => ({ loadSockJS: () => loader.load() }));

const ctx: TransportContext = { clock: systemClock, logger: silentLogger, SockJS: FakeSockJS as SockJSConstructor };
const url = 'http://127.0.0.1:1/realtime/sockjs';
const ALL = { transports: [...DEFAULT_SOCKJS_TRANSPORTS] };
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Connects `factory` to `to`; returns what its handlers saw and the transport. */
async function connect(factory: TransportFactory, to = url, context = ctx) {
  const r = { opened: 0, messages: [] as string[], closes: [] as CloseInfo[] };
  const transport = factory.connect(
    to,
    {
      onOpen: () => void r.opened++,
      onMessage: (text) => void r.messages.push(text),
      onClose: (info) => {
        r.closes.push(info);
        transport.close(info.code, info.reason); // as the client does (connector.ts): a no-op by now
      },
    },
    context,
  );
  await settle();
  return { r, transport };
}

const last = (): FakeSockJS => {
  const socket = FakeSockJS.instances.at(-1);
  if (!socket) throw new Error('no SockJS instance');
  return socket;
};

/** A factory whose memory holds `name` for `url`: one connection opened over it, then dropped. */
async function remembering(name: string): Promise<TransportFactory> {
  const factory = createSockJSTransport();
  await connect(factory);
  last().open(name);
  last().drop(1006, 'Server lost session', false);
  FakeSockJS.instances = [];
  return factory;
}

beforeEach(() => {
  FakeSockJS.instances = [];
  loader.load.mockReset();
  loader.load.mockRejectedValue(new Error('the loader must not be used here'));
});

describe('sockjs transport: the sub-transport that opened', () => {
  it('is asked for alone on the next connect to the same URL, by the same factory only', async () => {
    const factory = await remembering('xhr-polling');
    const { r } = await connect(factory);
    expect(last().options).toEqual({ transports: ['xhr-polling'] });
    last().open('xhr-polling');
    expect(r.opened).toBe(1);
    await connect(factory, 'http://127.0.0.1:2/realtime/sockjs'); // another endpoint
    expect(last().options).toEqual(ALL);
    await connect(createSockJSTransport()); // another factory
    expect(last().options).toEqual(ALL);
    expect(FakeSockJS.instances).toHaveLength(3);
  });

  it('when it fails, the whole list is asked for in the same connection, which opens once', async () => {
    const factory = await remembering('xhr-streaming');
    const { r, transport } = await connect(factory);
    expect(last().options).toEqual({ transports: ['xhr-streaming'] });
    last().drop(2000, 'All transports failed', false); // the network changed: it no longer works
    await settle();
    expect(r.closes).toEqual([]);
    expect(FakeSockJS.instances).toHaveLength(2);
    expect(last().options).toEqual(ALL);
    last().open('xhr-polling');
    last().receive('welcome');
    transport.send('hello');
    expect(r.opened).toBe(1);
    expect(r.messages).toEqual(['welcome']);
    expect(last().sent).toEqual(['hello']);
    // What opened is what the next connect asks for.
    await connect(factory);
    expect(last().options).toEqual({ transports: ['xhr-polling'] });
  });

  it('a failure of the whole list after it is reported once, without a third socket', async () => {
    const factory = await remembering('xhr-streaming');
    const { r } = await connect(factory);
    last().drop(2000, 'All transports failed', false);
    await settle();
    last().drop(2000, 'All transports failed', false);
    await settle();
    expect(FakeSockJS.instances).toHaveLength(2);
    expect(r.closes).toHaveLength(1);
    expect(r.closes[0]?.code).toBe(1006);
    await connect(factory); // nothing remembered any more
    expect(last().options).toEqual(ALL);
  });

  it('an unreachable server (/info failed, 1002) is reported at once, and the memory kept', async () => {
    const factory = await remembering('xhr-polling');
    const { r } = await connect(factory);
    last().drop(1002, 'Cannot connect to server', false);
    await settle();
    expect(FakeSockJS.instances).toHaveLength(1);
    expect(r.closes.map((c) => c.code)).toEqual([1006]);
    await connect(factory); // the server is back: straight to what worked
    expect(last().options).toEqual({ transports: ['xhr-polling'] });
  });

  it('is forgotten when the client gives up on it before it opened (its connect timeout)', async () => {
    const factory = await remembering('xhr-polling');
    const { r, transport } = await connect(factory);
    transport.close(4002, 'no handshake');
    await settle();
    expect(r.closes).toEqual([]);
    expect(FakeSockJS.instances).toHaveLength(1);
    await connect(factory);
    expect(last().options).toEqual(ALL);
  });

  it('is kept when an open connection drops or is closed, and not asked for when WebSocket is to be avoided', async () => {
    const factory = await remembering('websocket');
    const { r, transport } = await connect(factory);
    expect(last().options).toEqual({ transports: ['websocket'] });
    last().open('websocket');
    transport.close(1000, 'bye');
    await connect(factory);
    expect(last().options).toEqual({ transports: ['websocket'] });
    last().open('websocket');
    last().drop(1006, 'Server lost session', false);
    await settle();
    expect(r.closes).toEqual([]); // closed by the client: no handler fires
    expect(FakeSockJS.instances).toHaveLength(2);
    await connect(factory, url, { ...ctx, avoidWebSocket: true });
    expect(last().options).toEqual({ transports: DEFAULT_SOCKJS_TRANSPORTS.filter((t) => t !== 'websocket') });
  });

  it('one that opened with WebSocket avoided is not asked for by a connect that may use WebSocket, and back', async () => {
    const factory = createSockJSTransport();
    const avoiding = { ...ctx, avoidWebSocket: true };
    await connect(factory, url, avoiding); // the page's WebSocket was refused: streaming opened
    last().open('xhr-streaming');
    last().drop(1006, 'Server lost session', false);
    await connect(factory, url, avoiding);
    expect(last().options).toEqual({ transports: ['xhr-streaming'] });
    // WebSocket is no longer avoided (it gets through again, or another client of the page): the
    // whole list, websocket first, not what opened without it.
    await connect(factory);
    expect(last().options).toEqual(ALL);
    last().open('websocket');
    await connect(factory, url, avoiding);
    expect(last().options).toEqual({ transports: ['xhr-streaming'] });
  });

  it('a list of one is asked for as it is', async () => {
    const factory = createSockJSTransport({ transports: ['xhr-polling'] });
    const { r } = await connect(factory);
    last().open('xhr-polling');
    last().drop(1006, 'Server lost session', false);
    await connect(factory);
    last().drop(2000, 'All transports failed', false);
    await settle();
    expect(FakeSockJS.instances).toHaveLength(2);
    expect(r.closes).toHaveLength(1);
  });
});
