/**
 * Lets an endpoint answer plain HTTP requests on a server that already has a catch-all
 * `'request'` listener (an express app, a static-file server, a 404 responder). Plain
 * `server.on('request')` would let both answer the same request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Returns `true` when it took the request. */
export type RequestInterceptor = (req: IncomingMessage, res: ServerResponse) => boolean;

type RawListener = (this: Server, ...args: unknown[]) => void;

/**
 * Puts `intercept` in front of the server's current `'request'` listeners, which from then on only
 * see the requests it declines. Listeners added later run for every request, as usual (this is
 * what sockjs's own `installHandlers` does, made undoable). The returned function undoes it: the
 * previous listeners are put back in place, or, when someone else wrapped our listener meanwhile,
 * our listener turns into a plain pass-through.
 */
export function interceptRequests(server: Server, intercept: RequestInterceptor): () => void {
  // rawListeners keeps `once` wrappers, which then still run only once.
  const previous = server.rawListeners('request') as RawListener[];
  let active = true;
  const listener = function (this: Server, req: IncomingMessage, res: ServerResponse): void {
    if (active && intercept(req, res)) return;
    for (const fn of previous) fn.call(this, req, res);
  };
  server.removeAllListeners('request');
  server.on('request', listener);
  return () => {
    if (!active) return;
    active = false;
    const current = server.rawListeners('request') as RawListener[];
    if (!current.some((fn) => fn === listener)) return;
    server.removeAllListeners('request');
    for (const fn of current) for (const restored of fn === listener ? previous : [fn]) server.on('request', restored);
  };
}
