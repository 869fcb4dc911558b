/**
 * Request bodies the `sockjs` package reads (xhr_send, jsonp_send, chunking_test) far larger than
 * any client sends. Its own readers buffer a body whole, re-copying everything received on each
 * chunk (quadratic): one unauthenticated POST of 160 MB, to a session id that does not even
 * exist, kept the event loop busy for minutes.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const { server } = useHarness();

interface Sent {
  readonly status: number;
  /** Bytes of body written before the answer came (or all of them). */
  readonly written: number;
}

/** POSTs `total` bytes of body in 64 KiB chunks, with or without Content-Length; stops writing at the answer. */
function sendBody(url: string, total: number, withLength: boolean): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'text/plain' };
    if (withLength) headers['Content-Length'] = total;
    let written = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, written });
      req.destroy();
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 << 10, 0x61);
    const pump = (): void => {
      while (!answered && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('SockJS send requests', () => {
  // The documented limit (PROTOCOL.md, SockJS): 64 MiB, or more when maxFrameBytes needs it.
  const over = (64 << 20) + (1 << 20);

  it('refuses a body over the limit by its Content-Length with 413, before reading it', async () => {
    const s = await server({ maxFrameBytes: 1024 });
    const prefix = `http://127.0.0.1:${s.port}/realtime/sockjs`;
    for (const route of ['000/abcdefgh/xhr_send', '000/abcdefgh/jsonp_send', 'chunking_test']) {
      const sent = await sendBody(`${prefix}/${route}`, over, true);
      expect(sent.status, route).toBe(413);
    }
  });

  it('cuts a chunked body off with 413 once it passes the limit', async () => {
    const s = await server({ maxFrameBytes: 1024 });
    const prefix = `http://127.0.0.1:${s.port}/realtime/sockjs`;
    for (const route of ['000/abcdefgh/xhr_send', 'chunking_test']) {
      // Far beyond the limit, so an unbounded server answers only after all of it (or never, in test time).
      const sent = await sendBody(`${prefix}/${route}`, 3 * over, false);
      expect(sent.status, route).toBe(413);
      expect(sent.written, route).toBeLessThan(3 * over);
    }
  });
});
