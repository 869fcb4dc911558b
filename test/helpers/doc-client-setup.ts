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

/**
 * PROTOCOL.md's "Bad input": each as the text of one message after the handshake (on long polling,
 * one element of a POST body); the server must close with 4400 and discard the session.
 */
export const badFrames: [string, string][] = [
  ['not valid JSON', '["e",1,"n",]'],
  ['an unknown tag', '["x",1]'],
  ['a tag in the wrong case', '["E",1,"n"]'],
  ['an extra element', '["e",1,"n",1,2]'],
  ['a missing element', '["e",1]'],
  ['seq 0', '["e",0,"n"]'],
  ['a fractional seq', '["e",1.5,"n"]'],
  ['a string seq', '["e","1","n"]'],
  ['an empty name', '["e",1,""]'],
  ['a name of 257 code units', `["e",1,"${'x'.repeat(257)}"]`],
  ['a gap', '["e",2,"n"]'],
  ['an ack beyond what was sent', '["a",1]'],
  ['a null ack', '["a",null]'],
  ['a reserved name (client lifecycle)', '["e",1,"open"]'],
  ['a reserved name (session lifecycle)', '["e",1,"disconnect"]'],
  ...['state', 'queue:overflow', 'resume', 'end'].map((n): [string, string] => [`reserved ${n}`, `["e",1,"${n}"]`]),
  ['a name of 129 emoji (258 code units)', `["e",1,"${'😀'.repeat(129)}"]`],
  ['a response from the client', '["r",1,1,1]'],
  ['a welcome from the client', '["w",{"v":1,"sid":"s","resume":"r","resumed":false,"ack":0,"hb":[1,1]}]'],
  // Not the first one's text: over long polling, a POST repeating the hello is a resend (PROTOCOL.md).
  ['a second hello', '["h",{"v":1,"ack":0,"b":4096}]'],
  ['a ping with a string', '["p","1"]'],
  ['a ping overflowing to infinity', '["p",1e400]'],
  ['a pong with a string', '["o","x"]'],
  ['a close without its reason', '["c",1000]'],
  ['a close code out of range', '["c",5000,"x"]'],
  ['a close reason over 123 code units', `["c",1000,"${'r'.repeat(124)}"]`],
  ['an ok flag of true', '["r",1,1,true]'],
];

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
