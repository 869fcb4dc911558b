/**
 * Setup shared by the tests that check the reference server with the client written from
 * PROTOCOL.md alone (doc-client.ts): a server whose sessions are recorded, and links torn down
 * after each test.
 */
import type { IncomingMessage } from 'node:http';
import type { ServerSession } from '../../src/server/index.js';
import { type DocLink, DocPoll, DocWebSocket, type HttpAnswer } from './doc-client.js';
import { until, useHarness } from './harness.js';
import type { startServer } from './servers.js';

type Options = NonNullable<Parameters<typeof startServer>[0]>;
export type Kind = 'websocket' | 'longpoll';

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function useDocServer() {
  const { server, defer } = useHarness();

  /** A reference server whose sessions, and the `n` events they deliver, are recorded. */
  async function start(options: Options = {}) {
    const s = await server({ heartbeat: { intervalMs: 60_000 }, ...options });
    const sessions: ServerSession[] = [];
    const got: unknown[] = [];
    s.rt.on('connection', (session) => {
      sessions.push(session);
      session.on('n', (data) => got.push(data));
    });
    let gets = 0; // long-polling GETs the server has taken (its own listener was added first)
    s.http.on('request', (req: IncomingMessage) => void (req.method === 'GET' && gets++));
    return { ...s, poll: `http://127.0.0.1:${s.port}/realtime/poll`, sessions, got, gets: () => gets };
  }
  type Started = Awaited<ReturnType<typeof start>>;

  /** A connected link; on long polling one GET is kept outstanding. */
  async function link(s: Started, kind: Kind): Promise<DocLink> {
    if (kind === 'websocket') {
      const ws = await DocWebSocket.open(s.url);
      defer(() => ws.dispose());
      return ws;
    }
    return (await idle(s)).pump();
  }

  /** A long-polling connection with no GET running, so a test can hold and answer its own. */
  async function idle(s: Started, options?: object | null): Promise<DocPoll> {
    const p = await DocPoll.open(s.poll, options);
    defer(async () => {
      if (!p.ended) await p.del(); // or the server's close waits for a GET to take its close frame
      p.dispose();
    });
    return p;
  }

  /** A GET the server holds by the time this resolves (wrapped: awaiting it would wait for its answer). */
  async function hold(s: Started, p: DocPoll): Promise<{ answer: Promise<HttpAnswer> }> {
    const before = s.gets();
    const answer = p.get();
    await until(() => s.gets() > before);
    return { answer };
  }

  return { start, link, idle, hold, defer };
}
