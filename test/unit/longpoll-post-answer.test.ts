// @vitest-environment node
/**
 * The server's answer to a POST of a client taking numbered batches, when that POST's response is
 * gone by the time the answer is due: the browser sent the POST again on a new connection (it does
 * when a reused keep-alive connection closed before any answer, though the first copy arrived).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { PollConnection } from '../../src/server/endpoints/longpoll-connection.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A response that records what was written; `destroyed` as a client that went away. */
function response(destroyed = false) {
  const res = {
    destroyed,
    headersSent: false,
    status: 0,
    body: '',
    writeHead(status: number) {
      res.status = status;
      res.headersSent = true;
      return res;
    },
    end(body = '') {
      res.body = body;
    },
    once() {
      return res;
    },
  };
  return res;
}

const asRes = (r: ReturnType<typeof response>): ServerResponse => r as unknown as ServerResponse;
const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('long-polling POST answers (numbered batches)', () => {
  it('keeps the frames of an answer whose response is gone for the next request, with their number', async () => {
    const settings = {
      clock: new ManualClock(),
      pollTimeoutMs: 25_000,
      idleTimeoutMs: 35_000,
      maxQueuedChars: 1 << 20,
      maxFrameBytes: 1 << 20,
    };
    const c = new PollConnection('id', {} as IncomingMessage, settings, () => {}, true);
    c.bind({ onMessage: (text) => c.send(text.replace('"e"', '"E"')), onProtocolError() {}, onClose() {} });
    const first = response(true); // its connection closed after the body was read
    c.receive(['["e",1,"echo",1]'], asRes(first));
    await immediate();
    expect(first.status).toBe(0); // nothing could be written
    const poll = response();
    c.poll(asRes(poll));
    await immediate();
    // Batch 1 still comes, on the GET: not dropped with its number used up, which leaves the
    // client waiting for a batch 1 that never comes (every later batch held until its heartbeat
    // gives the connection up).
    expect(poll.body).toBe('[1,["E",1,"echo",1]]');
  });
});
