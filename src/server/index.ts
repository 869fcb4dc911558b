/**
 * `surelink/server`: the Node counterpart of the surelink client. Node only; never import it from
 * browser code.
 */
import { RealtimeServerImpl } from './realtime-server.js';
import type { RealtimeServerOptions } from './options.js';
import type { RealtimeServer } from './types.js';

/**
 * Attaches a surelink endpoint to an existing http.Server (WebSocket now; SockJS and long polling
 * plug into the same sessions). Sessions survive drops for `sessionGraceMs`, and every event and
 * response is delivered exactly once, in order, across resumes.
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
 */
export function createRealtimeServer<
  ClientEvents extends object = Record<string, unknown>,
  ServerEvents extends object = Record<string, unknown>,
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
export { CloseCode } from '../protocol/close-codes.js';
export type { Clock } from '../util/clock.js';
