/**
 * Lets an endpoint answer plain HTTP requests on a server that already has a catch-all
 * `'request'` listener (an express app, a static-file server, a 404 responder), and upgrades on
 * one that has an `'upgrade'` listener for every path (`ws` in server mode answers the paths not
 * its own 400). Plain `server.on(...)` would let both answer the same request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Returns `true` when it took the request. */
export type RequestInterceptor = (req: IncomingMessage, res: ServerResponse) => boolean;

type RawListener = (this: Server, ...args: unknown[]) => void;
type Taker = (...args: never[]) => boolean;

/** Each of our listeners' chain: the listeners it passes the requests it declines on to. */
const chains = new WeakMap<RawListener, readonly RawListener[]>();
/** Each of our live listeners' interceptor. */
const takers = new WeakMap<RawListener, Taker>();

export function interceptRequests(server: Server, intercept: RequestInterceptor): () => void {
  return interceptEvent(server, 'request', intercept);
}

/**
 * What sees an `event` of `server`, in the order it sees it: the listeners, each of ours as its
 * interceptor followed by the chain it passes what it declines on to.
 */
export function seenBy(server: Server, event: string): unknown[] {
  const order: unknown[] = [];
  const walk = (listeners: readonly RawListener[]): void => {
    for (const fn of listeners) {
      order.push(takers.get(fn) ?? fn);
      if (takers.has(fn)) walk(chains.get(fn) ?? []);
    }
  };
  walk(server.rawListeners(event) as RawListener[]);
  return order;
}

/**
 * Puts `intercept` in front of the server's current `event` listeners, which from then on only
 * see the requests it declines. Listeners added later run for every request, as usual (this is
 * what sockjs's own `installHandlers` does, made undoable). The returned function undoes it: the
 * previous listeners are put back in place; when another interceptor wrapped ours meanwhile (a
 * server re-created on the same http.Server, a hot reload), ours leaves that one's chain, or it
 * held the closed server for good, one more for each reload; when someone else wrapped it, ours
 * turns into a plain pass-through.
 */
export function interceptEvent(server: Server, event: 'request' | 'upgrade', intercept: Taker): () => void {
  let take: Taker | undefined = intercept;
  const listener: RawListener = function (this: Server, ...args: unknown[]): void {
    if (take?.(...(args as never[])) === true) return;
    // A snapshot: a chain is replaced, never changed, so a listener that undoes one meanwhile
    // (a request handler closing a server) makes none of them run twice or not at all.
    for (const fn of chains.get(listener) ?? []) fn.apply(this, args);
  };
  // rawListeners keeps `once` wrappers, which then still run only once.
  chains.set(listener, server.rawListeners(event) as RawListener[]);
  takers.set(listener, intercept);
  server.removeAllListeners(event);
  server.on(event, listener);
  return () => {
    if (!take) return;
    take = undefined;
    takers.delete(listener);
    const below = chains.get(listener) ?? [];
    const current = server.rawListeners(event) as RawListener[];
    if (current.includes(listener)) {
      server.removeAllListeners(event);
      for (const fn of current) for (const restored of fn === listener ? below : [fn]) server.on(event, restored);
    } else replaceInChains(current, listener, below);
    // Its chain stays: a request under way may still pass through it, and someone else's wrapper
    // may hold it (it passes every request on). Once nothing holds it, the WeakMap lets it go.
  };
}

/** Puts `replacement` in place of `target` in the chain of the interceptor (among `listeners`, at any depth) that holds it. */
function replaceInChains(
  listeners: readonly RawListener[],
  target: RawListener,
  replacement: readonly RawListener[],
): boolean {
  for (const fn of listeners) {
    const chain = chains.get(fn);
    if (!chain) continue;
    const at = chain.indexOf(target);
    if (at !== -1) {
      chains.set(fn, [...chain.slice(0, at), ...replacement, ...chain.slice(at + 1)]);
      return true;
    }
    if (replaceInChains(chain, target, replacement)) return true;
  }
  return false;
}
