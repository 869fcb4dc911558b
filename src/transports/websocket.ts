import { TransportError } from '../errors/transport.js';
import { SocketTransport } from './socket.js';
import type { TransportContext, TransportFactory, WebSocketConstructor } from './transport.js';

function constructorOf(ctx: TransportContext): WebSocketConstructor | undefined {
  return ctx.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/** Native WebSocket (or the injected one, e.g. `ws` on Node 20). */
export const websocketTransport: TransportFactory = {
  name: 'websocket',
  isSupported: (ctx) => (constructorOf(ctx) ? true : 'no WebSocket implementation: pass options.WebSocket'),
  connect(url, handlers, ctx) {
    const Ctor = constructorOf(ctx);
    if (!Ctor) throw new TransportError('websocket', 'no WebSocket implementation');
    return new SocketTransport(handlers, new Ctor(url));
  },
};
