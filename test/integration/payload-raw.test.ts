/**
 * Raw mode (`protocol: 'raw'`) against plain `ws` and `sockjs` echo servers, with the texts the
 * surelink protocol carries unchanged (payload-edges.test.ts): what each transport does to them.
 */
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createSockJSServer } from 'sockjs';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { RealtimeClient } from '../../src/client/client.js';
import { until, useHarness } from '../helpers/harness.js';
import { listen, LOOPBACK_CLIENT } from '../helpers/servers.js';

type Kind = 'websocket' | 'sockjs';
const { defer } = useHarness();

/** An echo server of `kind` on 127.0.0.1 at `/echo`; `received` are the texts it got. */
async function echo(kind: Kind): Promise<{ port: number; received: string[] }> {
  const http = createServer();
  const received: string[] = [];
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let closeServer = (): void => {};
  if (kind === 'websocket') {
    const wss = new WebSocketServer({ server: http, maxPayload: 8 << 20 });
    wss.on('connection', (socket) =>
      socket.on('message', (data: Buffer) => {
        received.push(data.toString());
        socket.send(data.toString());
      }),
    );
    closeServer = () => wss.close();
  } else {
    const sockjs = createSockJSServer({ prefix: '/echo', log: () => {} });
    sockjs.on('connection', (conn) =>
      conn.on('data', (text: string) => {
        received.push(text);
        conn.write(text);
      }),
    );
    sockjs.installHandlers(http);
  }
  const port = await listen(http);
  defer(
    () =>
      new Promise<void>((resolve) => {
        closeServer();
        for (const socket of sockets) socket.destroy();
        http.close(() => resolve());
      }),
  );
  return { port, received };
}

function rawClient(kind: Kind, port: number): RealtimeClient {
  const url = kind === 'websocket' ? `ws://127.0.0.1:${port}/echo` : `http://127.0.0.1:${port}/echo`;
  const c = new RealtimeClient(url, {
    ...LOOPBACK_CLIENT,
    protocol: 'raw',
    transports: [kind],
    urls: { sockjs: `http://127.0.0.1:${port}/echo` },
  });
  defer(() => c.close());
  return c;
}

const TEXTS = [
  '\u2028\u2029',
  '\u0000\u0001\u001f',
  '😀👩‍👩‍👧‍👦',
  '\u00ad\u0600\u200c\ufeff\ufff0\uffff',
  '"\\/\b\f\n\r\t',
  '{"not":"json"',
  '€'.repeat(70_000),
];

describe.each(['websocket', 'sockjs'] as const)('raw mode against a plain %s echo server', (kind) => {
  it('carries unicode unchanged both ways', async () => {
    const server = await echo(kind);
    const c = rawClient(kind, server.port);
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m));
    await c.waitFor('open', { timeoutMs: 8000 });
    for (const t of TEXTS) expect(c.send(t)).toBe('sent');
    await until(() => messages.length === TEXTS.length);
    expect(server.received).toEqual(TEXTS);
    expect(messages).toEqual(TEXTS);
  });

  it('a lone surrogate: SockJS carries it (its frames are JSON), a WebSocket text frame, UTF-8, cannot: U+FFFD', async () => {
    const server = await echo(kind);
    const c = rawClient(kind, server.port);
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m));
    await c.waitFor('open', { timeoutMs: 8000 });
    c.send('a\ud800b');
    await until(() => messages.length === 1);
    const arrives = kind === 'sockjs' ? 'a\ud800b' : 'a\ufffdb';
    expect([server.received, messages]).toEqual([[arrives], [arrives]]);
  });

  it('a text of 1.2 MB (400,000 €) goes whether sent at once or queued first: only surelink data is held to the byte count of the server', async () => {
    const server = await echo(kind);
    const big = '€'.repeat(400_000);
    const c = rawClient(kind, server.port);
    const messages: unknown[] = [];
    c.on('message', (m) => messages.push(m));
    expect(c.send(big)).toBe('queued'); // before the link opens
    await c.waitFor('open', { timeoutMs: 8000 });
    expect(c.send(big)).toBe('sent');
    await until(() => messages.length === 2, 15_000);
    expect(messages).toEqual([big, big]);
    expect(server.received).toEqual([big, big]);
  });
});
