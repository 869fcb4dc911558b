/**
 * The long-polling wire format (PROTOCOL.md, "Long polling"): request and response bodies are
 * JSON arrays of frames, and each frame is exactly what would be one WebSocket message.
 */
import { MAX_BATCH_CHARS } from '../protocol/batch.js';
import { TransportError } from '../errors/transport.js';
import { PROTOCOL_ERROR } from '../protocol/close-codes.js';
import type { CloseInfo } from './transport.js';

/** Bodies are batches (`[frame,frame,...]`), built as on every transport: see protocol/batch.ts. */
export { MAX_BATCH_CHARS, encodeBatch, takeBatch } from '../protocol/batch.js';

/** Connection ids are URL-safe; anything else in an open response is not our server. */
const CONNECTION_ID = /^[A-Za-z0-9_-]{1,256}$/;

/** One frame of a poll response, as parsed: a JSON array. */
export type PolledFrame = readonly unknown[];

/**
 * What an open response `{"c":"<id>","b":<max body bytes>}` says: the connection id and the
 * largest POST batch in chars; throws when it is not one.
 */
export function parseOpened(body: string): [id: string, maxBatchChars: number] {
  // JSON null and other non-objects have no `c` either.
  const o = parseJson(body) as { c?: unknown; b?: unknown } | null | undefined;
  if (typeof o?.c !== 'string' || !CONNECTION_ID.test(o.c)) return unexpected(body);
  // How many UTF-16 code units one POST may gather, from the server's announced body limit in
  // bytes: 3 bytes per unit at most, so a batch never exceeds it.
  const b = o.b;
  return [
    o.c,
    Number.isSafeInteger(b) && (b as number) > 0 ? Math.max(1, Math.floor((b as number) / 3)) : MAX_BATCH_CHARS,
  ];
}

/**
 * A response's batch number (`undefined` when the server does not number them) and its frames, in
 * order; throws when the body is not `[n?,frame,…]`. Each frame is handed on as its own JSON
 * text; the core decodes and validates it.
 */
export function parsePolled(body: string): [number | undefined, PolledFrame[]] {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed)) return unexpected(body);
  const n = typeof parsed[0] === 'number' ? (parsed.shift() as number) : undefined;
  return parsed.every(Array.isArray) ? [n, parsed as PolledFrame[]] : unexpected(body);
}

/** What a close frame (`["c",code,reason]`) says; `undefined` for any other frame. */
export function closeOf(frame: PolledFrame): CloseInfo | undefined {
  if (frame[0] !== 'c') return undefined;
  const [, code, reason] = frame;
  return {
    code: typeof code === 'number' ? code : PROTOCOL_ERROR,
    reason: typeof reason === 'string' ? reason : '',
  };
}

/** A 2xx response that is not what the protocol says (a captive portal, a proxy): 4400. */
function unexpected(body: string): never {
  throw new TransportError('longpoll', `unexpected response: ${body.slice(0, 64)}`, PROTOCOL_ERROR);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
