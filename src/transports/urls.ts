import { InvalidArgumentError } from '../errors/invalid-argument.js';
import type { TransportName } from './transport.js';

const suffix: Record<TransportName, string> = { websocket: '', sockjs: '/sockjs', longpoll: '/poll' };

/**
 * Parses the client's main URL. `ws:`/`wss:`/`http:`/`https:` are accepted; a relative URL is
 * resolved against the page's location when there is one.
 */
export function parseMainUrl(url: string): URL {
  if (typeof url !== 'string' || url === '') throw new InvalidArgumentError('url must be a non-empty string');
  let parsed: URL;
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    parsed = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new InvalidArgumentError(`url is not a valid URL: ${url}`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
    throw new InvalidArgumentError(`url must use ws:, wss:, http: or https:, got ${parsed.protocol}`);
  }
  return parsed;
}

/**
 * The endpoint of one transport, derived from the main URL: `wss://h/realtime` gives
 * `wss://h/realtime` (WebSocket), `https://h/realtime/sockjs` (SockJS) and
 * `https://h/realtime/poll` (long polling). The query string is kept; the fragment is dropped.
 */
export function endpointUrl(main: URL, name: TransportName): string {
  const u = new URL(main.href);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  if (name === 'websocket') u.protocol = secure ? 'wss:' : 'ws:';
  else u.protocol = secure ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/+$/, '') + suffix[name];
  u.hash = '';
  return u.href;
}
