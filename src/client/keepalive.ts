import { encodeControl } from '../protocol/codec.js';
import type { Link } from './link.js';
import type { ResolvedOptions } from './options.js';

/**
 * How often the client pings on `link`, or `undefined` when it does not watch the link. The
 * client pings at the shorter of its own interval and the server's (so the server never times it
 * out); raw mode sends the configured message and has no heartbeat without one.
 */
export function keepaliveInterval(o: ResolvedOptions, link: Link): number | undefined {
  const hb = o.heartbeat;
  if (!hb || (o.protocol === 'raw' && hb.message === '')) return undefined;
  // The codec lets only whole numbers >= 0 through; 0 breaks the protocol's rule (servers send >= 1):
  // ignored, not fatal.
  return Math.min(hb.intervalMs, link.welcome?.hb.intervalMs || Infinity);
}

/** The ping the heartbeat sends: a protocol ping, or raw mode's configured message. */
export function pingText(o: ResolvedOptions, ts: number): string {
  return o.protocol === 'raw' && o.heartbeat ? o.heartbeat.message : encodeControl({ type: 'ping', ts });
}
