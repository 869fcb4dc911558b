/**
 * The endpoints' `'upgrade'` listeners, and the upgrade requests none of them takes. Once an
 * http.Server has an `'upgrade'` listener, Node hands every upgrade request to its listeners and
 * stops watching the socket: no header, request or keep-alive timeout applies any more. Without
 * them it would have served the request as a plain one (the application's 404). So an upgrade to
 * another path, on a server where only surelink listens for upgrades, was held open for ever, and
 * any peer could pile such sockets up, outside `maxHandshakes`. When every `'upgrade'` listener is
 * one of ours and none took the request, the last of them answers 404 and closes the socket; an
 * application's own listener keeps that job (as `ws` documents for `noServer`).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { interceptEvent, seenBy } from './intercept-requests.js';

/** Takes (handles, or answers) an upgrade request and returns true, or returns false to leave it. */
export type UpgradeTaker = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

const ours = new WeakSet<object>();

/**
 * Puts `take` in front of the server's `'upgrade'` listeners (see `interceptEvent`): those only see
 * the upgrades it leaves. Listening beside them, a `ws` server in server mode on another path (or
 * an application listener that destroys the sockets of paths it does not know, as in `ws`'s README)
 * answered 400 each WebSocket surelink had just accepted. Returns its removal.
 */
export function listenForUpgrades(server: Server, take: UpgradeTaker): () => void {
  const listener: UpgradeTaker = (req, socket, head) => {
    if (take(req, socket, head)) return true;
    const all = seenBy(server, 'upgrade');
    if (all.at(-1) !== listener || !all.every((l) => ours.has(l as object))) return false;
    rejectUpgrade(socket, 404, 'Not Found');
    return true;
  };
  ours.add(listener);
  return interceptEvent(server, 'upgrade', listener);
}

/** Answers an upgrade request with an HTTP error and closes the socket once it is written. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}
