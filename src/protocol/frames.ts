/**
 * Wire frames of protocol v1 (see PROTOCOL.md). Every frame is one JSON array whose first element
 * is a one-letter type tag; arrays keep the per-message overhead to a few bytes.
 */

import { MAX_NAME_CHARS } from './limits.js';

export { PROTOCOL_VERSION, MAX_NAME_CHARS } from './limits.js';

/** Heartbeat settings the server announces in `welcome`. */
export interface HeartbeatSettings {
  /** The client sends something (a ping if nothing else) at least this often. */
  readonly intervalMs: number;
  /** A ping unanswered for this long means the link is dead. */
  readonly timeoutMs: number;
}

/** Client → server, first frame on every connection. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly v: number;
  readonly auth?: string | undefined;
  /** Resume token of the session to resume; absent for a new session. */
  readonly resume?: string | undefined;
  /** Highest server sequence number the client has delivered (0 when none). */
  readonly ack: number;
  /** The client accepts batches (see PROTOCOL.md, "Batches") of up to this many bytes; absent when it does not. */
  readonly b?: number | undefined;
}

/** Server → client, answer to `hello`; the connection counts as open only after it. */
export interface WelcomeFrame {
  readonly type: 'welcome';
  readonly v: number;
  readonly sid: string;
  readonly resume: string;
  /** True when the session named in `hello.resume` was found and continues. */
  readonly resumed: boolean;
  /** Highest client sequence number the server has delivered (0 when none). */
  readonly ack: number;
  readonly hb: HeartbeatSettings;
  /** The server accepts batches of up to this many bytes on this connection; absent when it does not. */
  readonly b?: number | undefined;
  /**
   * The largest frame the server accepts on this connection, in UTF-8 bytes, where it announces no
   * `b` (long polling); absent with `b` too, 1 MiB.
   */
  readonly f?: number | undefined;
}

/** An application event, either direction. */
export interface EventFrame {
  readonly type: 'event';
  readonly seq: number;
  readonly event: string;
  readonly data: unknown;
}

/** A request, either direction; answered by exactly one `response` with the same id. */
export interface RequestFrame {
  readonly type: 'request';
  readonly seq: number;
  readonly id: number;
  readonly event: string;
  readonly data: unknown;
}

/** Error carried by a failed response. */
export interface RemoteError {
  readonly code: string;
  readonly message: string;
}

export type ResponseFrame =
  | { readonly type: 'response'; readonly seq: number; readonly id: number; readonly ok: true; readonly data: unknown }
  | {
      readonly type: 'response';
      readonly seq: number;
      readonly id: number;
      readonly ok: false;
      readonly error: RemoteError;
    };

/** Cumulative acknowledgement: every sequenced frame up to and including `ack` was delivered. */
export interface AckFrame {
  readonly type: 'ack';
  readonly ack: number;
}

export interface PingFrame {
  readonly type: 'ping';
  /** Sender's clock in ms; echoed in the pong. */
  readonly ts: number;
}

export interface PongFrame {
  readonly type: 'pong';
  readonly ts: number;
}

export interface CloseFrame {
  readonly type: 'close';
  readonly code: number;
  readonly reason: string;
}

export type Frame =
  HelloFrame | WelcomeFrame | EventFrame | RequestFrame | ResponseFrame | AckFrame | PingFrame | PongFrame | CloseFrame;

export type FrameType = Frame['type'];

/** Frames that carry a per-direction sequence number and are re-sent until acknowledged. */
export type SequencedFrame = EventFrame | RequestFrame | ResponseFrame;

/**
 * Event names that belong to the client's lifecycle. An application event map may not use them
 * and a server frame carrying one is a protocol error.
 */
export const RESERVED_EVENTS = [
  'open',
  'close',
  'state',
  'reconnecting',
  'error',
  'message',
  'transport',
  'queue:overflow',
  'queue:expired',
  'queue:oversize',
] as const;

export type ReservedEvent = (typeof RESERVED_EVENTS)[number];

const reserved: ReadonlySet<string> = new Set(RESERVED_EVENTS);

export function isReservedEvent(name: string): name is ReservedEvent {
  return reserved.has(name);
}

/**
 * Names the server's session API uses for its own lifecycle (`session.on('end')`, ...): the
 * server closes with 4400 when a client sends an event with one, so the client refuses them first.
 */
export const SESSION_EVENTS = ['disconnect', 'resume', 'end'] as const;

export type SessionEvent = (typeof SESSION_EVENTS)[number];

const session: ReadonlySet<string> = new Set(SESSION_EVENTS);

/**
 * Why `name` is not a valid event or request name (1 to {@link MAX_NAME_CHARS} chars), or `undefined`
 * when it is one. Gives the length, not the name: a long one does not belong in an error message.
 */
export function badName(name: unknown): string | undefined {
  return typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS
    ? `names are 1-${MAX_NAME_CHARS} characters, got ${typeof name === 'string' ? `${name.length}` : typeof name}`
    : undefined;
}

/** Whether a client may send an event with this name. */
export function isSendableByClient(name: string): boolean {
  return !reserved.has(name) && !session.has(name);
}
