import { ProtocolError } from '../errors/protocol.js';
import { CloseCode } from './close-codes.js';
import type { EventFrame, Frame, HeartbeatSettings, HelloFrame, RequestFrame, WelcomeFrame } from './frames.js';

/** Limits applied while decoding. */
export interface DecodeLimits {
  /** Largest accepted frame, in UTF-16 code units of the text (a cheap upper bound of bytes / 3). */
  readonly maxFrameChars: number;
}

/** 1 MiB of text by default; the server lowers it through its own option. */
export const DEFAULT_LIMITS: DecodeLimits = { maxFrameChars: 1 << 20 };

/** Longest close reason: 123 UTF-8 bytes, as in a WebSocket close frame. */
const MAX_REASON_BYTES = 123;

/** Encodes one frame as its wire text. Never throws for frames built by this library. */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(toWire(frame));
}

function toWire(f: Frame): unknown[] {
  switch (f.type) {
    case 'hello':
      return ['h', { v: f.v, ack: f.ack, ...opt('auth', f.auth), ...opt('resume', f.resume) }];
    case 'welcome':
      return [
        'w',
        { v: f.v, sid: f.sid, resume: f.resume, resumed: f.resumed, ack: f.ack, hb: [f.hb.intervalMs, f.hb.timeoutMs] },
      ];
    case 'event':
      return withData(['e', f.seq, f.event], f.data);
    case 'request':
      return withData(['q', f.seq, f.id, f.event], f.data);
    case 'response':
      if (f.ok) return withData(['r', f.seq, f.id, 1], f.data);
      // Copy the two fields: an Error passed as `error` keeps `message` non-enumerable.
      return ['r', f.seq, f.id, 0, { code: f.error.code, message: f.error.message }];
    case 'ack':
      return ['a', f.ack];
    case 'ping':
      return ['p', f.ts];
    case 'pong':
      return ['o', f.ts];
    case 'close':
      return ['c', f.code, fitCloseReason(f.reason)];
  }
}

/**
 * `encodeFrame` for an event or request whose data is already JSON text (the client's outbound log
 * keeps it from its size check), so the data is not stringified a second time.
 */
export function encodeWithDataJson(frame: EventFrame | RequestFrame, dataJson: string): string {
  const head = JSON.stringify(
    frame.type === 'event' ? ['e', frame.seq, frame.event] : ['q', frame.seq, frame.id, frame.event],
  );
  return `${head.slice(0, -1)},${dataJson}]`;
}

/**
 * Cuts a close reason to the 123 UTF-8 bytes a WebSocket close frame allows (whole code points
 * only). Reasons are often error messages, so every close goes through here.
 */
export function fitCloseReason(reason: string): string {
  if (reason.length <= MAX_REASON_BYTES / 3) return reason; // fast path: 3 bytes per unit at most
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const cp = ch.codePointAt(0) as number;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > MAX_REASON_BYTES) break;
    out += ch;
  }
  return out;
}

function opt<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function withData(head: unknown[], data: unknown): unknown[] {
  if (data !== undefined) head.push(data);
  return head;
}

/**
 * Decodes one frame. Returns a `ProtocolError` (never throws) for anything that is not a valid v1
 * frame: bad JSON, wrong shape, wrong field types, oversize text.
 */
export function decodeFrame(text: unknown, limits: DecodeLimits = DEFAULT_LIMITS): Frame | ProtocolError {
  if (typeof text !== 'string') return fail('frame is not text');
  if (text.length > limits.maxFrameChars) {
    return new ProtocolError(`frame of ${text.length} chars exceeds ${limits.maxFrameChars}`, CloseCode.FrameTooLarge);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    return fail('frame is not JSON', cause);
  }
  if (!Array.isArray(raw) || typeof raw[0] !== 'string') return fail('frame is not a tagged array');
  return fromWire(raw as [string, ...unknown[]]) ?? fail(`malformed frame of type ${JSON.stringify(raw[0])}`);
}

function fail(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, CloseCode.ProtocolError, cause === undefined ? undefined : { cause });
}

function fromWire(w: [string, ...unknown[]]): Frame | undefined {
  const [tag, a, b, c, d] = w;
  switch (tag) {
    case 'h':
      return w.length === 2 ? hello(a) : undefined;
    case 'w':
      return w.length === 2 ? welcome(a) : undefined;
    case 'e':
      return (w.length === 3 || w.length === 4) && isSeq(a) && isName(b)
        ? { type: 'event', seq: a, event: b, data: c }
        : undefined;
    case 'q':
      return (w.length === 4 || w.length === 5) && isSeq(a) && isSeq(b) && isName(c)
        ? { type: 'request', seq: a, id: b, event: c, data: d }
        : undefined;
    case 'r':
      return response(w, a, b, c, d);
    case 'a':
      return w.length === 2 && isCount(a) ? { type: 'ack', ack: a } : undefined;
    case 'p':
    case 'o':
      return w.length === 2 && isFiniteNumber(a) ? { type: tag === 'p' ? 'ping' : 'pong', ts: a } : undefined;
    case 'c':
      return w.length === 3 && isCloseCode(a) && typeof b === 'string' && b.length <= MAX_REASON_BYTES
        ? { type: 'close', code: a, reason: b }
        : undefined;
    default:
      return undefined;
  }
}

function response(w: unknown[], seq: unknown, id: unknown, ok: unknown, payload: unknown): Frame | undefined {
  if (!isSeq(seq) || !isSeq(id)) return undefined;
  if (ok === 1 && (w.length === 4 || w.length === 5)) return { type: 'response', seq, id, ok: true, data: payload };
  if (ok === 0 && w.length === 5 && isRemoteError(payload)) {
    return { type: 'response', seq, id, ok: false, error: { code: payload.code, message: payload.message } };
  }
  return undefined;
}

function hello(o: unknown): HelloFrame | undefined {
  if (!isRecord(o) || !isCount(o.v) || !isCount(o.ack)) return undefined;
  if (!optString(o.auth) || !optString(o.resume)) return undefined;
  return { type: 'hello', v: o.v, ack: o.ack, ...opt('auth', o.auth), ...opt('resume', o.resume) };
}

function welcome(o: unknown): WelcomeFrame | undefined {
  if (!isRecord(o) || !isCount(o.v) || !isCount(o.ack) || typeof o.resumed !== 'boolean') return undefined;
  if (typeof o.sid !== 'string' || typeof o.resume !== 'string') return undefined;
  const hb = heartbeat(o.hb);
  if (!hb) return undefined;
  return { type: 'welcome', v: o.v, sid: o.sid, resume: o.resume, resumed: o.resumed, ack: o.ack, hb };
}

function heartbeat(value: unknown): HeartbeatSettings | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [intervalMs, timeoutMs] = value as unknown[];
  return isCount(intervalMs) && isCount(timeoutMs) ? { intervalMs, timeoutMs } : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRemoteError(value: unknown): value is { code: string; message: string } {
  return isRecord(value) && typeof value.code === 'string' && typeof value.message === 'string';
}

function optString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Non-negative safe integer (acks, versions, durations). */
function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Sequence numbers and request ids start at 1. */
function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256;
}

function isCloseCode(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1000 && (value as number) <= 4999;
}
