/**
 * surelink: a realtime client that stays connected. See README.md for the guide and PROTOCOL.md
 * for the wire format.
 */
export { RealtimeClient, type SendResult } from './client/client.js';
export type { ClientOptions, ReconnectOptions, HeartbeatOptions, QueueOptions } from './client/options.js';
export type {
  ClientState,
  ClientEventsOf,
  EventMap,
  LifecycleEvents,
  QueuedMessage,
  ValidEventMap,
  ValidSendMap,
} from './client/event-types.js';
export type { RequestOptions } from './client/requests.js';
export type { EventStream, StreamOptions, WaitForOptions } from './client/events.js';
export type { RetryContext, RetryPolicy, BackoffOptions } from './client/retry.js';
export { exponentialBackoff } from './client/retry.js';
export type { LifecycleEnvironment, EventTargetLike } from './client/lifecycle.js';
export * from './errors/index.js';
export { CloseCode, isRetryable } from './protocol/close-codes.js';
export {
  PROTOCOL_VERSION,
  RESERVED_EVENTS,
  SESSION_EVENTS,
  type ReservedEvent,
  type SessionEvent,
} from './protocol/frames.js';
export { websocketTransport } from './transports/websocket.js';
export { longpollTransport } from './transports/longpoll.js';
export {
  sockjsTransport,
  createSockJSTransport,
  DEFAULT_SOCKJS_TRANSPORTS,
  type SockJSTransportOptions,
} from './transports/sockjs.js';
export type {
  CloseInfo,
  Transport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportName,
  WebSocketConstructor,
  WebSocketLike,
  SockJSConstructor,
  SockJSLike,
} from './transports/transport.js';
export { webStorageStore } from './storage/web-storage.js';
export { indexedDBStore } from './storage/indexeddb.js';
export type { SessionStore, SessionSnapshot } from './storage/store.js';
export type { Clock } from './util/clock.js';
export type { Logger } from './util/logger.js';
