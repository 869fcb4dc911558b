/** Real servers on 127.0.0.1, port 0, for integration tests. Every start has a matching stop. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import SockJSClient from 'sockjs-client';
import WebSocket from 'ws';
import type { ValidEventMap, ValidSendMap } from '../../src/client/event-types.js';
import type { ClientOptions } from '../../src/client/options.js';
import { createRealtimeServer } from '../../src/server/index.js';
import type { RealtimeServerOptions } from '../../src/server/index.js';
import type { RealtimeServer } from '../../src/server/types.js';
import type { WebSocketConstructor } from '../../src/transports/transport.js';

/** `ws` as the client's WebSocket (Node 20 has no global one). */
export const NodeWebSocket: WebSocketConstructor = WebSocket;

/**
 * A client's options against a server on loopback, in Node: `ws` and sockjs-client injected, no
 * browser lifecycle, fast reconnects, no heartbeat unless a test asks for one.
 */
export const LOOPBACK_CLIENT: ClientOptions = {
  WebSocket: NodeWebSocket,
  SockJS: SockJSClient,
  lifecycle: false,
  reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
  heartbeat: false,
};

export interface TestServer<CE extends object, SE extends object> {
  readonly http: Server;
  readonly rt: RealtimeServer<CE, SE, unknown>;
  readonly port: number;
  /** ws://127.0.0.1:port/realtime */
  readonly url: string;
  stop(): Promise<void>;
}

export async function listen(http: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => resolve());
  });
  return (http.address() as AddressInfo).port;
}

export async function startServer<
  CE extends ValidSendMap<CE> & object = object,
  SE extends ValidEventMap<SE> & object = object,
>(options: Omit<RealtimeServerOptions<unknown>, 'server'> = {}, port = 0): Promise<TestServer<CE, SE>> {
  const http = createServer();
  const rt = createRealtimeServer<CE, SE, unknown>({ server: http, ...options });
  const actual = await listen(http, port);
  return {
    http,
    rt,
    port: actual,
    url: `ws://127.0.0.1:${actual}/realtime`,
    async stop() {
      await rt.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
