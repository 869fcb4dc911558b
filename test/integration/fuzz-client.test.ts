/**
 * A fuzzing server against the real RealtimeClient over WebSocket: each connection answers the
 * hello with a welcome (or a fuzzed frame), sends odd but valid events, then fuzzed frames, then
 * drops the link. The client raises only typed errors, closes with documented codes, reconnects
 * by itself (or stops for a fatal code, and is restarted), throws nothing and rejects nothing
 * unhandled, and still works with a well-behaved server afterwards.
 */
import { createServer } from 'node:http';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { RealtimeClient } from '../../src/client/client.js';
import { isSurelinkError } from '../../src/errors/index.js';
import { CloseCode, isRetryable } from '../../src/protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.js';
import { fuzzedFrame } from '../helpers/frame-fuzz.js';
import type { Fuzzed } from '../helpers/frame-fuzz.js';
import { NodeWebSocket, listen } from '../helpers/servers.js';

/** Close codes the client may send after bad input (PROTOCOL.md, "Bad input"). */
const BAD_INPUT = new Set<number>([CloseCode.ProtocolError, CloseCode.FrameTooLarge, CloseCode.UnsupportedVersion]);
/**
 * WebSocket close codes the server may see from the client: its own codes, none, or the ones the
 * WebSocket implementation sends by itself on a framing violation (1002, 1007: invalid UTF-8).
 */
const CLIENT_WS_CODES = new Set([
  1000,
  1002,
  1005,
  1006,
  1007,
  ...BAD_INPUT,
  CloseCode.HeartbeatTimeout,
  CloseCode.ConnectTimeout,
]);
const ERROR_CODES = new Set(['PROTOCOL', 'AUTH_REJECTED', 'TRANSPORT', 'SESSION_LOST', 'CONNECT_TIMEOUT']);

interface Script {
  /** Sent instead of welcome (the handshake path), else a welcome follows the hello. */
  readonly handshake: Fuzzed | undefined;
  readonly events: readonly unknown[];
  readonly fuzzed: readonly Fuzzed[];
  /** How the link ends when the client survived the script. */
  readonly ending: 'terminate' | 'garbage' | 'close-4000';
}

const script: fc.Arbitrary<Script> = fc.record({
  handshake: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fuzzedFrame }),
  events: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }),
  fuzzed: fc.array(fuzzedFrame, { minLength: 1, maxLength: 5 }),
  ending: fc.constantFrom('terminate' as const, 'garbage' as const, 'close-4000' as const),
});

function send(ws: WebSocket, frame: Fuzzed, n: number): void {
  if (ws.readyState !== ws.OPEN) return;
  if (typeof frame === 'string') ws.send(frame);
  else ws.send(frame, { binary: n % 2 === 0 }); // binary, or a text message that may not be UTF-8
}

const unexpected: unknown[] = [];
const onUnexpected = (e: unknown): void => void unexpected.push(e);
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('client fuzzing over a real WebSocket', () => {
  it('survives thousands of fuzzed frames from a server: typed errors, documented codes, reconnection', async () => {
    process.on('uncaughtException', onUnexpected);
    process.on('unhandledRejection', onUnexpected);
    cleanup.push(() => {
      process.off('uncaughtException', onUnexpected);
      process.off('unhandledRejection', onUnexpected);
    });
    const scripts = fc.sample(script, { numRuns: 400, seed: 8 });
    let connections = 0;
    let framesSent = 0;
    const clientCloseFrames: number[] = [];
    const clientWsCodes: number[] = [];
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/realtime' });
    wss.on('connection', (ws) => {
      const sc = scripts[connections++];
      ws.on('error', () => {});
      ws.on('close', (code) => clientWsCodes.push(code));
      ws.on('message', (data: Buffer, isBinary) => {
        const frame = isBinary ? undefined : decodeFrame(data.toString());
        if (frame === undefined || frame instanceof Error)
          throw new Error(`client sent an undecodable frame: ${data.toString()}`);
        if (frame.type === 'close') clientCloseFrames.push(frame.code);
        if (frame.type !== 'hello') return;
        if (!sc) {
          // Done fuzzing: behave.
          ws.send(
            encodeFrame({
              type: 'welcome',
              v: 1,
              sid: 'final',
              resume: 'r-final',
              resumed: false,
              ack: 0,
              hb: { intervalMs: 20_000, timeoutMs: 10_000 },
            }),
          );
          ws.send(encodeFrame({ type: 'event', seq: 1, event: 'n', data: 42 }));
          return;
        }
        if (sc.handshake !== undefined) {
          send(ws, sc.handshake, connections);
          framesSent++;
        } else {
          ws.send(
            encodeFrame({
              type: 'welcome',
              v: 1,
              sid: `s${connections}`,
              resume: `r${connections}`,
              resumed: false,
              ack: 0,
              hb: { intervalMs: 20_000, timeoutMs: 10_000 },
            }),
          );
          sc.events.forEach((data, i) => ws.send(encodeFrame({ type: 'event', seq: i + 1, event: 'n', data })));
          framesSent += 1 + sc.events.length;
        }
        for (const [i, f] of sc.fuzzed.entries()) send(ws, f, i);
        framesSent += sc.fuzzed.length;
        if (sc.ending === 'terminate') ws.terminate();
        else if (sc.ending === 'garbage') send(ws, '{"not a frame"', 0);
        else ws.close(4000, 'fuzz');
      });
    });
    const port = await listen(http);
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of wss.clients) ws.terminate();
          wss.close();
          http.close(() => resolve());
        }),
    );

    const c = new RealtimeClient<{ n: unknown }>(`ws://127.0.0.1:${port}/realtime`, {
      WebSocket: NodeWebSocket,
      transports: ['websocket'],
      lifecycle: false,
      rememberTransport: false,
      connectTimeoutMs: 2000,
      reconnect: { policy: () => 1 },
    });
    let finished = false;
    cleanup.push(() => {
      finished = true;
      c.close();
    });
    const errors: unknown[] = [];
    const stops: number[] = [];
    let lastClose: number | undefined;
    c.on('error', (e) => errors.push(e));
    c.on('close', ({ code }) => (lastClose = code));
    c.on('state', ({ to }) => {
      if (to === 'connecting') lastClose = undefined; // a handshake failure has no close event
      if (to !== 'closed' || finished) return;
      // A stop is only right after a fatal code; then the test starts the client again.
      const code = lastClose ?? (errors.at(-1) as { closeCode?: number } | undefined)?.closeCode;
      stops.push(code ?? -1);
      lastClose = undefined;
      setTimeout(() => !finished && c.state === 'closed' && c.connect(), 1);
    });
    const got: unknown[] = [];
    c.on('n', (v) => got.push(v));

    const deadline = Date.now() + 60_000;
    while (got.at(-1) !== 42 || c.state !== 'open') {
      if (Date.now() > deadline) throw new Error(`no recovery after ${connections} connections (state ${c.state})`);
      await new Promise((r) => setTimeout(r, 10));
    }

    console.log(
      `client fuzz: ${framesSent} frames over ${connections} connections, ${errors.length} errors, ${stops.length} fatal stops`,
    );
    expect(connections).toBe(scripts.length + 1);
    expect(framesSent).toBeGreaterThanOrEqual(2000);
    for (const e of errors) expect(isSurelinkError(e) && ERROR_CODES.has(e.code), String(e)).toBe(true);
    expect(errors.some((e) => (e as { code?: string }).code === 'PROTOCOL')).toBe(true);
    for (const code of clientCloseFrames)
      expect(BAD_INPUT.has(code) || code === 1000, `close frame ${code}`).toBe(true);
    for (const code of clientWsCodes) expect(CLIENT_WS_CODES.has(code), `ws close ${code}`).toBe(true);
    for (const code of stops) expect(code !== -1 && !isRetryable(code), `stopped after ${code}`).toBe(true);
    expect(unexpected).toEqual([]);
  }, 90_000);
});
