import { encodeFrame } from '../protocol/codec.js';
import { Heartbeat } from './heartbeat.js';
import type { Link } from './link.js';
import type { ResolvedOptions } from './options.js';

/**
 * The heartbeat of one link, or `undefined` when disabled. The client pings at the shorter of
 * its own interval and the server's (so the server never times it out); raw mode sends the
 * configured message and has no heartbeat without one.
 */
export function startLinkHeartbeat(o: ResolvedOptions, link: Link, onDead: () => void): Heartbeat | undefined {
  const hb = o.heartbeat;
  const raw = o.protocol === 'raw';
  if (!hb || (raw && hb.message === '')) return undefined;
  const heartbeat = new Heartbeat({
    clock: o.clock,
    intervalMs: Math.min(hb.intervalMs, link.welcome?.hb.intervalMs ?? Infinity),
    timeoutMs: hb.timeoutMs,
    sendPing: (ts) => link.send(raw ? hb.message : encodeFrame({ type: 'ping', ts })),
    onDead,
  });
  heartbeat.start();
  return heartbeat;
}
