import { InvalidArgumentError } from '../errors/invalid-argument.js';
import type { TransportName } from './transport.js';

/**
 * Parses the client's main URL (or one of `urls`, `name` in the error). `ws:`/`wss:`/`http:`/`https:` are accepted; a relative URL is
 * resolved against the page's location when there is one.
 */
export function parseMainUrl(url: string, name = 'url'): URL {
  let parsed: URL | undefined;
  try {
    // Not the empty string, which would resolve to the page itself.
    if (typeof url === 'string' && url !== '')
      parsed = new URL(url, (globalThis as { location?: { href?: string } }).location?.href);
  } catch {
    // Not a URL: reported below, like any other unusable value.
  }
  if (!parsed || !/^(wss?|https?):$/.test(parsed.protocol))
    throw new InvalidArgumentError(`${name} must be a ws:, wss:, http: or https: URL, got ${String(url)}`);
  return parsed;
}

/**
 * The endpoint of one transport, derived from the main URL: `wss://h/realtime` gives
 * `wss://h/realtime` (WebSocket), `https://h/realtime/sockjs` (SockJS) and
 * `https://h/realtime/poll` (long polling). The query string is kept; the fragment is dropped.
 * An override (`own`, one of `urls`) keeps its path, but gets the same scheme and fragment rules:
 * fetch and sockjs-client refuse a `ws:` URL, and sockjs-client one with a fragment.
 */
export function endpointUrl(main: string, name: TransportName, own?: string): string {
  const u = parseMainUrl(own ?? main);
  // ws: <-> http:, wss: <-> https: (the main URL is one of these four)
  const ws = name === 'websocket';
  u.protocol = u.protocol.replace(/^(ws|http)/, ws ? 'ws' : 'http');
  if (!own) u.pathname = u.pathname.replace(/\/+$/, '') + (ws ? '' : name === 'sockjs' ? '/sockjs' : '/poll');
  u.hash = '';
  return u.href;
}
