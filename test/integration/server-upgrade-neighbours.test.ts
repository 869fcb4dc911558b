/**
 * Another WebSocket server on the same http.Server, on another path, the way GraphQL
 * subscriptions and many apps set one up: `new WebSocketServer({ server, path: '/graphql' })`.
 * That `ws` server answers every upgrade to another path 400 and destroys its socket. Both
 * listened side by side, so it destroyed each WebSocket upgrade surelink had just accepted (or
 * was about to): the client never opened a WebSocket and fell back to SockJS polling, with
 * nothing said on the server. Surelink's endpoints now go in front of the `'upgrade'` listeners
 * already there, as they do for `'request'`: those see only the upgrades surelink leaves.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createRealtimeServer } from '../../src/server/index.js';
import { until, useHarness } from '../helpers/harness.js';
import { listen } from '../helpers/servers.js';

const { client, defer } = useHarness();

/** The first message a plain WebSocket to `url` gets, or how it ended. */
function firstMessage(url: string): Promise<string> {
  const ws = new WebSocket(url);
  defer(() => ws.terminate());
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('message', (data: Buffer) => resolve(data.toString()));
    ws.once('close', (code) => resolve(`closed ${code}`));
  });
}

/** Listens on `http` and stops the three at the end of the test; returns the port. */
async function serve(http: Server, rt: { close(): Promise<void> }, graphql: WebSocketServer): Promise<number> {
  const port = await listen(http);
  defer(async () => {
    await rt.close();
    graphql.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return port;
}

describe('a ws server in server mode on another path of the same http server', () => {
  it('keeps its path, and surelink keeps its WebSocket (and SockJS); close() leaves it alone', async () => {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const graphql = new WebSocketServer({ server: http, path: '/graphql' });
    graphql.on('connection', (ws) => ws.send('graphql'));
    const own = http.listeners('upgrade');
    const rt = createRealtimeServer({ server: http });
    rt.handle('where', () => 'surelink');
    const port = await serve(http, rt, graphql);

    for (const transport of ['websocket', 'sockjs'] as const) {
      const c = client(`ws://127.0.0.1:${port}/realtime`, { transports: [transport], connectTimeoutMs: 2000 });
      defer(() => c.close());
      await until(() => c.state === 'open');
      expect(await c.request('where')).toBe('surelink');
    }
    expect(await firstMessage(`ws://127.0.0.1:${port}/graphql`)).toBe('graphql');

    await rt.close();
    expect(http.listeners('upgrade')).toEqual(own);
    expect(await firstMessage(`ws://127.0.0.1:${port}/graphql`)).toBe('graphql');
    expect((http.address() as AddressInfo).port).toBe(port);
  });

  it("keeps an application listener that destroys the upgrades it does not know, as in ws's README", async () => {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const graphql = new WebSocketServer({ noServer: true });
    graphql.on('connection', (ws) => ws.send('graphql'));
    http.on('upgrade', (req, socket, head) => {
      if (req.url === '/graphql') graphql.handleUpgrade(req, socket, head, (ws) => graphql.emit('connection', ws));
      else socket.destroy();
    });
    const rt = createRealtimeServer({ server: http });
    const port = await serve(http, rt, graphql);
    const c = client(`ws://127.0.0.1:${port}/realtime`, { transports: ['websocket'], connectTimeoutMs: 2000 });
    defer(() => c.close());
    await until(() => c.state === 'open');
    expect(await firstMessage(`ws://127.0.0.1:${port}/graphql`)).toBe('graphql');
  });
});
