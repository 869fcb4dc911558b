// With the real sockjs-client (Node) and server: a reconnect on SockJS asks sockjs-client for the
// sub-transport that opened last time alone, instead of its whole search; when that one fails (the
// network changed: upgrades refused now) the same attempt falls back to the whole list and opens on
// another; a server that is down for a while (its /info fails) does not make the client forget.
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import SockJSClient from 'sockjs-client';
import { describe, expect, it } from 'vitest';
import { createRealtimeServer } from '../../src/server/index.js';
import { DEFAULT_SOCKJS_TRANSPORTS } from '../../src/transports/sockjs.js';
import type { SockJSConstructor } from '../../src/transports/transport.js';
import { until, useHarness } from '../helpers/harness.js';
import { listen } from '../helpers/servers.js';

/** sockjs-client, recording the `transports` each socket is asked for. */
function recordingSockJS(): { SockJS: SockJSConstructor; asked: string[][] } {
  const asked: string[][] = [];
  class Recording extends (SockJSClient as unknown as SockJSConstructor) {
    constructor(url: string, reserved?: unknown, options?: Record<string, unknown>) {
      super(url, reserved, options);
      asked.push([...((options?.transports as string[] | undefined) ?? [])]);
    }
  }
  return { SockJS: Recording, asked };
}

const ALL = [...DEFAULT_SOCKJS_TRANSPORTS];
/** The sub-transport of a SockJS handshake request, from its URL (`.../<server>/<session>/<route>`). */
const route = (req: IncomingMessage): string => req.url?.split('?')[0]?.split('/').pop() ?? '';

const { client, server, defer } = useHarness({ transports: ['sockjs'], heartbeat: false });

describe('SockJS reconnects reuse the sub-transport that opened', () => {
  it('falls back to the whole list in the same attempt when it stops working (upgrades refused)', async () => {
    const http = createServer();
    const sockets = new Set<Duplex>();
    http.on('connection', (s) => void sockets.add(s).size);
    const routes: string[] = [];
    const rt = createRealtimeServer({
      server: http,
      authenticate: (_token, req) => (routes.push(route(req)), {}),
    });
    // The gate runs first: while `refuse`, every WebSocket upgrade (sockjs's own route too) gets 403.
    let refuse = false;
    const upgrades = http.listeners('upgrade') as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
    http.removeAllListeners('upgrade');
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!refuse) return upgrades.forEach((l) => l.call(http, req, socket, head));
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const port = await listen(http);
    defer(async () => {
      await rt.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const cut = (): void => sockets.forEach((s) => s.destroy());

    const { SockJS, asked } = recordingSockJS();
    // A connect timeout longer than the test's own: an attempt ends only on what the server answers.
    const c = client(`ws://127.0.0.1:${port}/realtime`, { SockJS, connectTimeoutMs: 60_000 });
    const opens: boolean[] = [];
    c.on('open', ({ resumed }) => void opens.push(resumed));
    await until(() => opens.length === 1);
    expect(asked).toEqual([ALL]);
    expect(routes).toEqual(['websocket']);

    cut();
    await until(() => opens.length === 2);
    expect(asked.slice(1)).toEqual([['websocket']]); // straight to it, no search
    expect(routes.slice(1)).toEqual(['websocket']);

    refuse = true; // the network changed: WebSocket no longer gets through
    const states: string[] = [];
    const errors: Error[] = [];
    c.on('state', ({ to }) => void states.push(to));
    c.on('error', (error) => void errors.push(error));
    cut();
    await until(() => opens.length === 3);
    expect(asked.slice(2)).toEqual([['websocket'], ALL]); // the remembered one failed, then the search
    expect(routes.slice(2)).toEqual(['xhr_streaming']);
    // Within one attempt, not a retry later: one reconnect, and no attempt failed before it opened.
    expect(states).toEqual(['reconnecting', 'connecting', 'open']);
    expect(errors).toEqual([]);

    expect(opens).toEqual([false, true, true]);
    // The memory is the endpoint's: another client of the page goes straight to what opened last.
    // (Not a fourth cut: sockjs-client's Node xhr-streaming does not notice its response cut.)
    c.close();
    const other = client(`ws://127.0.0.1:${port}/realtime`, { SockJS });
    await other.waitFor('open', { timeoutMs: 5000 });
    expect(asked.slice(4)).toEqual([['xhr-streaming']]);
    expect(routes.slice(3)).toEqual(['xhr_streaming']);
  });

  it('keeps it across a server restart, while /info cannot be reached', async () => {
    const routes: string[] = [];
    const options = {
      authenticate: (_token: string | undefined, req: IncomingMessage) => (routes.push(route(req)), {}),
    };
    const first = await server(options);
    const { SockJS, asked } = recordingSockJS();
    const c = client(first.url, { SockJS, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    let opens = 0;
    let retries = 0;
    c.on('open', () => void opens++);
    c.on('reconnecting', () => void retries++);
    await until(() => opens === 1);
    await first.stop();
    await until(() => retries >= 3); // attempts while down: sockjs-client's /info fails (1002)
    await server(options, first.port);
    await until(() => opens === 2);
    expect(asked[0]).toEqual(ALL);
    expect(asked.length).toBeGreaterThanOrEqual(4);
    for (const list of asked.slice(1)) expect(list).toEqual(['websocket']);
    expect(routes).toEqual(['websocket', 'websocket']);
  });
});
