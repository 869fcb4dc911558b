/**
 * The one transport contract the client core knows. A transport moves text frames over one
 * physical connection and reports exactly one `onClose`; everything else (handshake, heartbeat,
 * resume, fallback order) lives above it. Modelled on SignalR's ITransport.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

export type TransportName = 'websocket' | 'sockjs' | 'longpoll';

/** Why a connection ended, in close-code terms (see protocol/close-codes). */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** The underlying failure, when there was one. */
  readonly error?: Error;
}

/** Callbacks a transport calls. After `onClose`, or after the core called `close()`, none fire. */
export interface TransportHandlers {
  onOpen(): void;
  onMessage(data: string): void;
  onClose(info: CloseInfo): void;
}

/** One open (or opening) connection. */
export interface Transport {
  readonly name: TransportName;
  /** Queues one text frame. Only called between `onOpen` and close. */
  send(data: string): void;
  /**
   * Ends the connection at once (a dead link is not waited on). Idempotent; no handler fires
   * afterwards.
   */
  close(code: number, reason: string): void;
}

/** What a transport may use from its environment; every member is injectable. */
export interface TransportContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly WebSocket?: WebSocketConstructor | undefined;
  readonly fetch?: typeof globalThis.fetch | undefined;
  readonly SockJS?: SockJSConstructor | undefined;
  /**
   * WebSocket already failed in this attempt, or the remembered transport says it fails on this
   * network: a transport that can carry its traffic another way (SockJS) should not try it again.
   */
  readonly avoidWebSocket?: boolean;
}

/** Creates connections of one kind. */
export interface TransportFactory {
  readonly name: TransportName;
  /** `true`, or a sentence saying why this transport cannot run here. */
  isSupported(ctx: TransportContext): true | string;
  /** Starts connecting to `url`; handlers fire asynchronously, never during this call. */
  connect(url: string, handlers: TransportHandlers, ctx: TransportContext): Transport;
}

/**
 * An event-handler slot typed as a method parameter, i.e. bivariantly, as the DOM's own are: so
 * the DOM's `WebSocket`, `ws` and sockjs-client's typings are accepted as they are, without a cast.
 */
type HandlerSlot<E> = { bivarianceHack(ev: E): void }['bivarianceHack'] | null;

/** The subset of the WebSocket API the adapter uses, so `ws` and mock-socket fit. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: HandlerSlot<unknown>;
  onmessage: HandlerSlot<{ data: unknown }>;
  onclose: HandlerSlot<{ code: number; reason: string }>;
  onerror: HandlerSlot<unknown>;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: destroys the socket without a close handshake. */
  terminate?(): void;
  /**
   * `ws` only (with `terminate`): its EventEmitter API, which the adapter listens on instead of the
   * `on*` slots, each of which costs `ws` a wrapper function per socket.
   */
  on?(event: 'open' | 'message' | 'close' | 'error', listener: (...args: never[]) => void): unknown;
  /** `ws` only: like `on`, for the next event only. */
  once?(event: 'open', listener: (...args: never[]) => void): unknown;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The subset of sockjs-client the SockJS adapter uses; `import SockJS from 'sockjs-client'` fits. */
export interface SockJSLike {
  readonly readyState: number;
  onopen: HandlerSlot<unknown>;
  onmessage: HandlerSlot<{ data: unknown }>;
  onclose: HandlerSlot<{ code: number; reason: string }>;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SockJSConstructor = new (url: string, reserved?: unknown, options?: Record<string, unknown>) => SockJSLike;
