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
  // A server interval below 1 ms breaks the protocol's rule (servers send >= 1): ignored, not fatal.
  const serverMs = link.welcome?.hb.intervalMs ?? 0;
  const heartbeat = new Heartbeat({
    clock: o.clock,
    intervalMs: serverMs >= 1 ? Math.min(hb.intervalMs, serverMs) : hb.intervalMs,
    timeoutMs: hb.timeoutMs,
    sendPing: (ts) => link.send(raw ? hb.message : encodeFrame({ type: 'ping', ts })),
    onDead,
  });
  heartbeat.start();
  return heartbeat;
}
