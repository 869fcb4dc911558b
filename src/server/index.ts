/**
 * `surelink/server`: the Node counterpart of the surelink client. Node only; never import it from
 * browser code.
 */
import type { ValidEventMap, ValidSendMap } from '../client/event-types.js';
import { RealtimeServerImpl } from './realtime-server.js';
import type { RealtimeServerOptions } from './options.js';
import type { RealtimeServer } from './types.js';

/**
 * Attaches the surelink endpoints (WebSocket, SockJS, long polling) to an existing http.Server.
 * Sessions survive drops for `sessionGraceMs`, and every event and response is delivered exactly
 * once, in order, across resumes.
 *
 * @example
 * ```ts
 * const http = createServer();
 * const rt = createRealtimeServer<{ chat: { text: string } }, { chat: { from: string; text: string } }, string>({
 *   server: http,
 *   authenticate: (token) => (token ? verify(token) : false),
 * });
 * rt.on('connection', (session) => {
 *   session.on('chat', ({ text }) => rt.broadcast('chat', { from: session.identity, text }));
 * });
 * rt.handle('join', (data, session) => rooms.join(session.id, data));
 * http.listen(8080);
 * ```
 *
 * The maps are the client's, seen from here, and refuse the same reserved names at compile time:
 * `ServerEvents` may not use the client's lifecycle names (`open`, `error`, ...), `ClientEvents`
 * neither those nor the session's own (`disconnect`, `resume`, `end`). At run time such a send
 * throws, and such an event from a client ends its session.
 */
export function createRealtimeServer<
  ClientEvents extends ValidSendMap<ClientEvents> & object = Record<string, unknown>,
  ServerEvents extends ValidEventMap<ServerEvents> & object = Record<string, unknown>,
  Identity = unknown,
>(options: RealtimeServerOptions<Identity>): RealtimeServer<ClientEvents, ServerEvents, Identity> {
  return new RealtimeServerImpl<ClientEvents, ServerEvents, Identity>(options);
}

export type { Authenticate, RealtimeServerOptions } from './options.js';
export type {
  ClientEventName,
  DisconnectInfo,
  EndInfo,
  RealtimeServer,
  RequestHandler,
  ResumeInfo,
  ServerSession,
} from './types.js';
export { SESSION_LIFECYCLE_EVENTS } from './event-names.js';
export type { SessionLifecycleEvent } from './event-names.js';
export type { ConnectionAcceptor, ConnectionCallbacks, ServerConnection, ServerTransportName } from './connection.js';
export { RequestErrorCode } from './requests.js';
/** What `session.send`, `broadcast`, `handle`, `on` and the options throw; `surelink`'s is another copy. */
export { InvalidArgumentError } from '../errors/invalid-argument.js';
export { CloseCode } from '../protocol/close-codes.js';
export type { Clock } from '../util/clock.js';
