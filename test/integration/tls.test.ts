import { createServer as createHttpsServer, globalAgent } from 'node:https';
import { createSecureServer, type ClientHttp2Session } from 'node:http2';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import SockJSClient from 'sockjs-client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeClient } from '../../src/client/client.js';
import type { ClientOptions } from '../../src/client/options.js';
import { createRealtimeServer } from '../../src/server/index.js';
import { endpointUrl } from '../../src/transports/urls.js';
import type { TransportName } from '../../src/transports/transport.js';
import { useHarness } from '../helpers/harness.js';
import { http2Fetch, https1Fetch, selfSignedCert } from '../helpers/tls.js';

type SE = { echo: string };
type CE = { say: string };

const tls = selfSignedCert();
const { defer } = useHarness();

/** `ws` trusting the test certificate. */
class TrustingWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { ca: tls.cert });
  }
}

beforeAll(() => {
  // sockjs-client's Node XHR driver uses https.request with the global agent.
  globalAgent.options.ca = tls.cert;
});
afterAll(() => {
  delete globalAgent.options.ca;
});

async function startHttps() {
  const https = createHttpsServer({ key: tls.key, cert: tls.cert });
  const rt = createRealtimeServer<CE, SE>({ server: https });
  rt.on('connection', (s) => s.on('say', (text) => s.send('echo', text.toUpperCase())));
  rt.handle('len', (data) => String(data).length);
  // Every TLS socket, upgraded ones included (closeAllConnections forgets those), for cuts.
  const sockets = new Set<TLSSocket>();
  https.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const port = (https.address() as AddressInfo).port;
  defer(async () => {
    await rt.close();
    https.closeAllConnections();
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });
  return { https, rt, url: `wss://127.0.0.1:${port}/realtime`, port, cut: () => sockets.forEach((s) => s.destroy()) };
}

describe('served over TLS (https.Server)', () => {
  it.each<TransportName>(['websocket', 'sockjs', 'longpoll'])(
    '%s alone: connects, exchanges, resumes after a cut',
    async (name) => {
      const { https, url, port, cut } = await startHttps();
      const seen: string[] = [];
      https.prependListener('request', (req) => seen.push(`${req.method} ${req.url}`));
      const options: ClientOptions = {
        transports: [name],
        WebSocket: TrustingWebSocket,
        SockJS: SockJSClient,
        fetch: https1Fetch(tls.cert),
        lifecycle: false,
        heartbeat: false,
        reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
      };
      const c = new RealtimeClient<SE, CE>(url, options);
      defer(() => c.close());
      await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: name, resumed: false });
      expect(endpointUrl(url, name)).toBe(
        {
          websocket: url,
          sockjs: `https://127.0.0.1:${port}/realtime/sockjs`,
          longpoll: `https://127.0.0.1:${port}/realtime/poll`,
        }[name],
      );
      const echo = c.waitFor('echo', { timeoutMs: 5000 });
      c.send('say', 'hi');
      await expect(echo).resolves.toBe('HI');
      await expect(c.request('len', 'four')).resolves.toBe(4);
      const reopened = c.waitFor('open', { timeoutMs: 8000 });
      cut();
      await expect(reopened).resolves.toEqual({ transport: name, resumed: true });
      const again = c.waitFor('echo', { timeoutMs: 5000 });
      c.send('say', 'back');
      await expect(again).resolves.toBe('BACK');
      if (name !== 'websocket')
        expect(seen.some((s) => s.includes(name === 'sockjs' ? '/realtime/sockjs' : '/realtime/poll'))).toBe(true);
    },
  );
});

describe('served over HTTP/2 (http2.createSecureServer with allowHTTP1)', () => {
  it.each<TransportName>(['websocket', 'longpoll'])(
    '%s alone: connects, exchanges, resumes after a cut',
    async (name) => {
      const h2 = createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true });
      // The option is typed http.Server; the compat API's requests are what the endpoints use.
      const rt = createRealtimeServer<CE, SE>({ server: h2 as unknown as Server });
      rt.on('connection', (s) => s.on('say', (text) => s.send('echo', text.toUpperCase())));
      const versions = new Set<string>();
      h2.on('request', (req: IncomingMessage) => versions.add(req.httpVersion));
      const sockets = new Set<TLSSocket>();
      h2.on('secureConnection', (socket: TLSSocket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
      const sessions: ClientHttp2Session[] = [];
      defer(async () => {
        for (const s of sessions) s.destroy();
        await rt.close();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => h2.close(() => resolve()));
      });
      const url = `wss://127.0.0.1:${(h2.address() as AddressInfo).port}/realtime`;
      const c = new RealtimeClient<SE, CE>(url, {
        transports: [name],
        WebSocket: TrustingWebSocket,
        fetch: http2Fetch(tls.cert, sessions),
        lifecycle: false,
        heartbeat: false,
        reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
      });
      defer(() => c.close());
      await expect(c.waitFor('open', { timeoutMs: 8000 })).resolves.toEqual({ transport: name, resumed: false });
      const echo = c.waitFor('echo', { timeoutMs: 5000 });
      c.send('say', 'hi');
      await expect(echo).resolves.toBe('HI');
      const reopened = c.waitFor('open', { timeoutMs: 8000 });
      for (const s of sockets) s.destroy();
      await expect(reopened).resolves.toEqual({ transport: name, resumed: true });
      const again = c.waitFor('echo', { timeoutMs: 5000 });
      c.send('say', 'back');
      await expect(again).resolves.toBe('BACK');
      // WebSocket comes over HTTP/1.1 (an upgrade), long polling as HTTP/2 streams.
      if (name === 'longpoll') expect([...versions]).toEqual(['2.0']);
      expect(sessions.length).toBe(name === 'longpoll' ? 2 : 0);
    },
  );
});
