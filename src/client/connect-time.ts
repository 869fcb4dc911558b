/**
 * How long a connect attempt or an upgrade probe waits for each transport: the option, more on a
 * slow link (see `patience`), never over 30 s.
 */
import type { SurelinkError } from '../errors/base.js';
import { ConnectTimeoutError } from '../errors/connect-timeout.js';
import { FallbackError } from '../errors/transport.js';

/**
 * The time each transport of the next attempt gets, after `error` ended one that gave each `ms`. On a slow link (GEO
 * satellite, 2G, congested cellular: 1 s of round trip or more) a WebSocket needs 4 round trips before `welcome` (TCP,
 * TLS, upgrade, hello), the fallbacks as many: over `connectTimeoutMs` every time. After an attempt where none
 * connected and one timed out, the next gets twice as long. A WebSocket hanging behind a proxy (its fallback connects
 * in the same attempt) or a probe does not make it grow. Once one connects, the next get twice what its handshake took
 * (`Attempt.patience`): a reconnect on the same slow link loses no round, and a fast link after a dead network brings
 * the time back, so a WebSocket hanging behind a proxy still falls back quickly.
 */
export function patience(ms: number, error: SurelinkError): number {
  const errors = error instanceof FallbackError ? error.errors : [error];
  return errors.some((e) => e instanceof ConnectTimeoutError) ? connectTime(ms, ms * 2) : ms;
}

/** `ms`, at least `floor` and at most 30 s (socket.io waits 20 s, Phoenix 10 s): what an attempt or probe gets. */
export const connectTime = (floor: number, ms: number): number => Math.max(floor, Math.min(ms, 30_000));
