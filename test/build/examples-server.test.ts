// The examples server behind `npm start` (scripts/examples-server.mjs), started on port 0: static
// files with the right content types, no way out of examples/ and dist/, and the demo realtime
// endpoint exchanging messages with the built client both ways. Needs `npm run build` first.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

interface ExamplesServer {
  url: string;
  close(): Promise<void>;
}
interface Response {
  status: number;
  type: string | undefined;
  body: string;
}
interface DemoClient {
  on(event: string, listener: (payload: never) => void): () => void;
  send(event: string, data?: unknown): string;
  request(event: string, data?: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
  close(): unknown;
}
type DemoClientConstructor = new (url: string, options: { WebSocket: unknown }) => DemoClient;

// Paths in variables: both are plain JS (dist/ exists only after a build), loaded at run time.
const EXAMPLES_SERVER = new URL('../../scripts/examples-server.mjs', import.meta.url).href;
const CLIENT_BUILD = new URL('../../dist/index.js', import.meta.url).href;

let server: ExamplesServer;

beforeAll(async () => {
  const { startExamplesServer } = (await import(EXAMPLES_SERVER)) as {
    startExamplesServer(options: { port: number; host: string }): Promise<ExamplesServer>;
  };
  server = await startExamplesServer({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await server?.close();
});

/** Sends `rawPath` byte for byte (fetch would normalise `..` away before it left the process). */
function get(rawPath: string, method = 'GET', headers: Record<string, string> = {}): Promise<Response> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: rawPath, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static files', () => {
  it('serves the index, which links every example', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');
    for (const example of ['/chat.html', '/prices.html', '/lab.html']) expect(page.body).toContain(`href="${example}"`);
  });

  it('serves the chat, which loads the script-tag bundle', async () => {
    const page = await get('/chat.html');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/dist/surelink.min.js"></script>');
  });

  it.each([
    ['/dist/surelink.min.js', 'text/javascript; charset=utf-8'],
    ['/dist/index.js', 'text/javascript; charset=utf-8'],
    ['/dist/surelink.min.js.map', 'application/json; charset=utf-8'],
    ['/chat.js', 'text/javascript; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/vendor/eventemitter3.js', 'text/javascript; charset=utf-8'],
    ['/vendor/sockjs.min.js', 'text/javascript; charset=utf-8'],
  ])('serves %s as %s', async (path, type) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.type).toBe(type);
    expect(res.body.length).toBeGreaterThan(0);
  });

  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2e%2e%2fpackage.json',
    '/..%2f..%2fpackage.json',
    '/dist/..%2fpackage.json',
    '/dist/%2e%2e%2f%2e%2e%2fpackage.json',
    '/dist/..%5c..%5cpackage.json',
    '//etc/passwd',
    '/dist//etc/passwd',
    '/vendor/../package.json',
    '/vendor/%2e%2e%2fpackage.json',
  ])('never serves a file outside examples/ and dist/ for %s', async (path) => {
    const res = await get(path);
    expect([400, 404]).toContain(res.status);
    expect(res.body).not.toContain('"name": "surelink"');
    expect(res.body).not.toContain('root:');
  });

  it('rejects malformed paths, unknown files and non-GET methods', async () => {
    expect((await get('/%')).status).toBe(400);
    expect((await get('/a%00.html')).status).toBe(400);
    expect((await get('/missing.html')).status).toBe(404);
    expect((await get('/', 'POST')).status).toBe(405);
    const head = await get('/', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });
});

describe('demo realtime endpoint', () => {
  it('answers echo requests and broadcasts chat to every session, through the built client', async () => {
    const { RealtimeClient } = (await import(CLIENT_BUILD)) as {
      RealtimeClient: DemoClientConstructor;
    };
    const wsUrl = `${server.url.replace('http:', 'ws:')}/realtime`;
    const alice = new RealtimeClient(wsUrl, { WebSocket });
    const bob = new RealtimeClient(wsUrl, { WebSocket });
    try {
      const opened = (client: DemoClient) => new Promise<void>((resolve) => client.on('open', () => resolve()));
      await Promise.all([opened(alice), opened(bob)]);

      expect(await alice.request('echo', { n: 42 }, { timeoutMs: 5000 })).toEqual({ n: 42 });

      const received = new Promise<{ from: string; text: string }>((resolve) =>
        bob.on('chat', (message: { from: string; text: string }) => resolve(message)),
      );
      expect(alice.send('chat', { text: '  hello from alice  ' })).toBe('sent');
      const message = await received;
      expect(message.text).toBe('hello from alice');
      expect(message.from).toMatch(/\S/);
    } finally {
      alice.close();
      bob.close();
    }
  });
});

describe('transport lab controls', () => {
  const wsUrl = () => `${server.url.replace('http:', 'ws:')}/realtime`;

  /** Resolves with the HTTP status that answered a WebSocket upgrade (101 when it opened). */
  function upgradeStatus(url: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  it('refuses WebSocket upgrades with 403 while asked to, on the realtime and SockJS routes', async () => {
    const sockjsUrl = `${wsUrl()}/sockjs/000/abcdefgh/websocket`;
    try {
      expect(JSON.parse((await get('/lab/refuse-upgrades?on=1', 'POST')).body)).toEqual({ refuseUpgrades: true });
      expect(JSON.parse((await get('/lab/status')).body)).toMatchObject({ refuseUpgrades: true });
      expect(await upgradeStatus(wsUrl())).toBe(403);
      expect(await upgradeStatus(sockjsUrl)).toBe(403);
    } finally {
      await get('/lab/refuse-upgrades?on=0', 'POST');
    }
    expect(await upgradeStatus(wsUrl())).toBe(101);
  });

  it('cuts every open connection but the one asking', async () => {
    const ws = new WebSocket(wsUrl());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
    const res = await get('/lab/cut', 'POST');
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { cut: number }).cut).toBeGreaterThanOrEqual(1);
    expect(await closed).toBe(1006);
  });

  it('reports the lab messages the server delivered', async () => {
    const res = await get('/lab/received');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ messages: expect.any(Array) as unknown[] });
  });

  it('refuses cross-origin POSTs, wrong methods and unknown routes', async () => {
    const foreign = await get('/lab/cut', 'POST', { Origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect((await get('/lab/cut')).status).toBe(405);
    expect((await get('/lab/nothing', 'POST')).status).toBe(404);
  });
});
