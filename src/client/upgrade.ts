/**
 * While the client runs on a fallback transport, tries the ones ahead of it in the order again now
 * and then in the background, so a user is not stuck on long polling after the network changed. A successful
 * probe resumes the same session on the new link; the server drops the old one, and the resume
 * protocol re-sends whatever was in flight, so nothing is lost or duplicated by the switch.
 *
 * The probe itself is a connect attempt like any other (the connection runs it, under its
 * generation number, so a stopped probe's late outcome is ignored the same way); this keeps when
 * to run the next one, and a loss of the current link that happened while one ran.
 */
import { connectTime } from './connect-time.js';
import { Timer, type Clock } from '../util/clock.js';
import type { CloseInfo, TransportName } from '../transports/transport.js';

/**
 * The transports ahead of `current` in the order, which a probe tries: on long polling, WebSocket and then SockJS
 * (behind a proxy that drops Upgrade headers, SockJS still gets through and streams). None on the preferred one,
 * nor on a transport the order does not name (a custom one naming itself otherwise).
 */
export function ahead<F extends { readonly name: TransportName }>(
  order: readonly F[],
  current: TransportName | null,
): readonly F[] {
  const rank = order.findIndex((f) => f.name === current);
  return order.slice(0, Math.max(rank, 0));
}

/** When to probe. */
export interface UpgradeOptions {
  /** First probe this long after opening on a fallback. @default 10000 */
  readonly initialDelayMs: number;
  /** Later probes back off up to this. @default 300000 */
  readonly maxDelayMs: number;
}

export class UpgradeProber {
  readonly #o: UpgradeOptions;
  readonly #timer: Timer;
  /** Starts a probe (the connection runs it). */
  readonly #probe: () => void;
  #delayMs: number;
  /** Probes that ran out of time after their hello went out, in a row. */
  #slow = 0;
  /** The current link died while a probe ran: the connection handles that once the probe settles. */
  declare lost: CloseInfo | undefined;

  constructor(options: UpgradeOptions, clock: Clock, probe: () => void) {
    this.#o = options;
    this.#probe = probe;
    this.#timer = new Timer(clock);
    this.#delayMs = options.initialDelayMs;
  }

  /** Schedules the next probe (the client opened on a fallback). */
  start(): void {
    this.stop();
    this.#timer.start(this.#delayMs, this.#probe);
  }

  /**
   * The time a probe gets: `ms` (what the client's attempts get), doubled for each probe in a row that failed after
   * its hello went out, up to 30 s. On a link of about 1 s of round trip, such a probe's hello reached the server
   * and its welcome was still on the way when it ran out of time: the server moved the session to it and dropped the
   * open link, a reconnect for every probe, and never an upgrade. A probe that never opened (a WebSocket hanging at a
   * proxy) does not make it grow: a link lost meanwhile waits for the probe (connection.ts), so that stays short.
   */
  timeoutMs(ms: number): number {
    return connectTime(ms, ms * 2 ** this.#slow);
  }

  /** Stops probing (the connection abandons a probe under way itself). */
  stop(): void {
    this.lost = undefined;
    this.#timer.stop();
  }

  /** The preferred transport is in use again: the next fallback starts with short delays. */
  reset(): void {
    this.stop();
    this.#delayMs = this.#o.initialDelayMs;
    this.#slow = 0;
  }

  /** A probe failed (`sent`: after its hello went out): the next waits longer. Returns the loss held meanwhile. */
  failed(sent?: boolean): CloseInfo | undefined {
    const lost = this.lost;
    this.#slow = sent ? this.#slow + 1 : 0;
    this.#delayMs = Math.min(this.#o.maxDelayMs, this.#delayMs * 2);
    this.start();
    return lost;
  }
}
