import { ProtocolError } from '../errors/protocol.js';
import { FRAME_TOO_LARGE } from './close-codes.js';
import { MAX_FRAME_CHARS, MAX_NAME_CHARS, MAX_REASON_BYTES } from './limits.js';
import type { AckFrame, CloseFrame, Frame, HelloFrame, PingFrame, PongFrame, WelcomeFrame } from './frames.js';

/** Limits applied while decoding. */
export interface DecodeLimits {
  /** Largest accepted frame, in UTF-16 code units of the text (a cheap upper bound of bytes / 3). */
  readonly maxFrameChars: number;
}

export { MAX_FRAME_CHARS };

/** {@link MAX_FRAME_CHARS} by default; the server lowers it through its own option. */
export const DEFAULT_LIMITS: DecodeLimits = { maxFrameChars: MAX_FRAME_CHARS };

/**
 * Encodes one frame as its wire text. Never throws for frames built by this library. Optional
 * fields that are `undefined` are left out (JSON.stringify omits them).
 */
export function encodeFrame(frame: Frame): string {
  switch (frame.type) {
    case 'welcome': {
      const f = frame;
      const hb = [f.hb.intervalMs, f.hb.timeoutMs];
      return JSON.stringify([
        'w',
        { v: f.v, sid: f.sid, resume: f.resume, resumed: f.resumed, ack: f.ack, hb, b: f.b, f: f.f },
      ]);
    }
    case 'event':
      return JSON.stringify(withData(['e', frame.seq, frame.event], frame.data));
    case 'request':
      return JSON.stringify(withData(['q', frame.seq, frame.id, frame.event], frame.data));
    case 'response': {
      const f = frame;
      // Copy the two fields: an Error passed as `error` keeps `message` non-enumerable.
      const payload = f.ok ? f.data : { code: f.error.code, message: f.error.message };
      return JSON.stringify(withData(['r', f.seq, f.id, f.ok ? 1 : 0], payload));
    }
    default:
      return encodeControl(frame);
  }
}

/** The frames a client encodes besides events and requests: its bundle needs no more of `encodeFrame`. */
export type ControlFrame = HelloFrame | AckFrame | PingFrame | PongFrame | CloseFrame;

/** `encodeFrame` for hello and the unsequenced frames. */
export function encodeControl(f: ControlFrame): string {
  return JSON.stringify(
    f.type === 'hello'
      ? ['h', { v: f.v, ack: f.ack, auth: f.auth, resume: f.resume, b: f.b }]
      : f.type === 'ack'
        ? ['a', f.ack]
        : f.type === 'close'
          ? ['c', f.code, fitCloseReason(f.reason)]
          : [f.type === 'ping' ? 'p' : 'o', f.ts],
  );
}

/** The close frame `encodeControl` makes, for the client's three reasons to send one. */
export const encodeClose = (code: number, reason: string): string => encodeControl({ type: 'close', code, reason });

/**
 * `encodeFrame` for an event (`id` undefined) or a request whose data is already JSON text (the
 * client's outbound log keeps it from its size check), so it is not stringified a second time.
 * `dataJson` undefined: the frame has no data.
 */
export function encodeWithDataJson(seq: number, event: string, dataJson: string | undefined, id?: number): string {
  const head = id === undefined ? `"e",${seq}` : `"q",${seq},${id}`;
  return `[${head},${JSON.stringify(event)}${dataJson === undefined ? '' : `,${dataJson}`}]`;
}

/**
 * Cuts a close reason to the 123 UTF-8 bytes a WebSocket close frame allows (whole code points
 * only). Reasons are often error messages, so every close goes through here.
 */
export function fitCloseReason(reason: string): string {
  let out = '';
  // The whole prefix encoded each time: at most 124 rounds of at most 123 bytes, in fewer bytes of
  // bundle than a running count (which paid for the payload size check in outbound.ts).
  for (const ch of reason) {
    if (new TextEncoder().encode(out + ch).length > MAX_REASON_BYTES) break;
    out += ch;
  }
  return out;
}

function opt<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function withData(head: unknown[], data: unknown): unknown[] {
  if (data !== undefined) head.push(data);
  return head;
}

/** Wire decoders by type tag: what one side accepts. A decoder returns `undefined` for a malformed frame. */
export type FrameDecoders = ReadonlyMap<string, (w: readonly unknown[]) => Frame | undefined>;

const event = (w: readonly unknown[]): Frame | undefined => {
  // Indexed, not destructured: the busiest decoder, which often runs before the JIT optimised it.
  const seq = w[1];
  const name = w[2];
  return (w.length === 3 || w.length === 4) && isSeq(seq) && isName(name)
    ? { type: 'event', seq, event: name, data: w[3] }
    : undefined;
};
const ack = (w: readonly unknown[]): Frame | undefined =>
  w.length === 2 && isCount(w[1]) ? { type: 'ack', ack: w[1] } : undefined;
const ping = (w: readonly unknown[]): Frame | undefined => {
  const ts = w[1];
  // Number.isFinite is false for anything but a finite number (no coercion).
  return w.length === 2 && Number.isFinite(ts) ? { type: w[0] === 'p' ? 'ping' : 'pong', ts: ts as number } : undefined;
};
const close = (w: readonly unknown[]): Frame | undefined => {
  // A number only once Number.isInteger said so; close codes are 1000…4999.
  const code = w[1] as number;
  const reason = w[2];
  return w.length === 3 &&
    Number.isInteger(code) &&
    code >= 1000 &&
    code <= 4999 &&
    typeof reason === 'string' &&
    reason.length <= MAX_REASON_BYTES
    ? { type: 'close', code, reason }
    : undefined;
};

/** The frames a server sends: what a client decodes. Tables, so a client bundle leaves the server's decoders out. */
export const SERVER_FRAMES: FrameDecoders = /* @__PURE__ */ new Map([
  ['w', welcome],
  ['e', event],
  ['r', response],
  ['a', ack],
  ['p', ping],
  ['o', ping],
  ['c', close],
]);

/** The frames a client sends: what a server decodes. */
export const CLIENT_FRAMES: FrameDecoders = /* @__PURE__ */ new Map([
  ['h', hello],
  ['e', event],
  ['q', request],
  ['a', ack],
  ['p', ping],
  ['o', ping],
  ['c', close],
]);

/**
 * Decodes one frame of any type. Returns a `ProtocolError` (never throws) for anything that is
 * not a valid v1 frame: bad JSON, wrong shape, wrong field types, oversize text.
 */
export function decodeFrame(text: unknown, limits: DecodeLimits = DEFAULT_LIMITS): Frame | ProtocolError {
  return decodeFrameOf(new Map([...SERVER_FRAMES, ...CLIENT_FRAMES]), text, limits);
}

/** `decodeFrame` for the frame types `decoders` knows; any other type is malformed. */
export function decodeFrameOf(decoders: FrameDecoders, text: unknown, limits?: DecodeLimits): Frame | ProtocolError {
  return fromRaw(decoders, parse(text, limits));
}

/**
 * Decodes one transport message after the handshake: a frame, or a batch of frames (a JSON array
 * of them, PROTOCOL.md "Batches"), of the types `decoders` knows. All or nothing: one invalid frame
 * makes it a `ProtocolError`. The size limit applies to the whole message. A lone frame comes back
 * as it is, not in an array: it is far more common than a batch, and this runs for every message.
 */
export function decodeFrames(
  decoders: FrameDecoders,
  text: unknown,
  limits?: DecodeLimits,
): Frame | Frame[] | ProtocolError {
  const raw = parse(text, limits);
  // Not an array (a ProtocolError from `parse` among others) or a lone frame: `fromRaw` tells which.
  if (!Array.isArray(raw) || !Array.isArray(raw[0])) return fromRaw(decoders, raw);
  const frames: Frame[] = [];
  // A loop, not map/find: no closures or extra arrays on the path of every message.
  for (const w of raw) {
    const frame = fromRaw(decoders, w);
    if (frame instanceof ProtocolError) return frame;
    frames.push(frame);
  }
  return frames;
}

// A ProtocolError closes with 4400 (CloseCode.ProtocolError) unless told otherwise.
function parse(text: unknown, limits?: DecodeLimits): unknown {
  const max = limits ? limits.maxFrameChars : MAX_FRAME_CHARS;
  if (typeof text !== 'string') return new ProtocolError('not text');
  if (text.length > max) return new ProtocolError(`frame over ${max} chars`, FRAME_TOO_LARGE);
  try {
    return JSON.parse(text);
  } catch (cause) {
    return new ProtocolError('not JSON', undefined, { cause });
  }
}

/** One frame of the types `decoders` knows; a `ProtocolError` from `parse` is passed on as it is. */
function fromRaw(decoders: FrameDecoders, raw: unknown): Frame | ProtocolError {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string')
    return raw instanceof ProtocolError ? raw : new ProtocolError('not a frame');
  const tag = raw[0];
  return decoders.get(tag)?.(raw) ?? new ProtocolError(`bad ${JSON.stringify(tag)} frame`);
}

function request(w: readonly unknown[]): Frame | undefined {
  const [, seq, id, name] = w;
  return (w.length === 4 || w.length === 5) && isSeq(seq) && isSeq(id) && isName(name)
    ? { type: 'request', seq, id, event: name, data: w[4] }
    : undefined;
}

function response(w: readonly unknown[]): Frame | undefined {
  const [, seq, id, ok, payload] = w;
  if (!isSeq(seq) || !isSeq(id)) return undefined;
  if (ok === 1 && (w.length === 4 || w.length === 5)) return { type: 'response', seq, id, ok: true, data: payload };
  if (
    ok === 0 &&
    w.length === 5 &&
    isRecord(payload) &&
    typeof payload.code === 'string' &&
    typeof payload.message === 'string'
  ) {
    return { type: 'response', seq, id, ok: false, error: { code: payload.code, message: payload.message } };
  }
  return undefined;
}

function hello(w: readonly unknown[]): HelloFrame | undefined {
  const o = w[1];
  if (w.length !== 2 || !isRecord(o) || !isCount(o.v) || !isCount(o.ack)) return undefined;
  if (!optString(o.auth) || !optString(o.resume) || !optSeq(o.b)) return undefined;
  return {
    type: 'hello',
    v: o.v,
    ack: o.ack,
    ...opt('auth', o.auth),
    ...opt('resume', o.resume),
    ...opt('b', o.b),
  };
}

function welcome(w: readonly unknown[]): WelcomeFrame | undefined {
  const o = w[1];
  if (w.length !== 2 || !isRecord(o) || !isCount(o.v) || !isCount(o.ack) || typeof o.resumed !== 'boolean')
    return undefined;
  const hb = o.hb;
  if (typeof o.sid !== 'string' || typeof o.resume !== 'string' || !optSeq(o.b) || !optSeq(o.f)) return undefined;
  if (!Array.isArray(hb) || hb.length !== 2 || !isCount(hb[0]) || !isCount(hb[1])) return undefined;
  return {
    type: 'welcome',
    v: o.v,
    sid: o.sid,
    resume: o.resume,
    resumed: o.resumed,
    ack: o.ack,
    hb: { intervalMs: hb[0], timeoutMs: hb[1] },
    b: o.b,
    f: o.f,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function optSeq(value: unknown): value is number | undefined {
  return value === undefined || isSeq(value);
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
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_CHARS;
}
