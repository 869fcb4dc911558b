/**
 * While the client runs on a fallback transport, tries the preferred one again now and then in
 * the background, so a user is not stuck on long polling after the network changed. A successful
 * probe resumes the same session on the new link; the server drops the old one, and the resume
 * protocol re-sends whatever was in flight, so nothing is lost or duplicated by the switch.
 */
import { Timer, type Clock } from '../util/clock.js';
import type { Attempt } from './connector.js';
import type { Link } from './link.js';
import type { CloseInfo } from '../transports/transport.js';

/** When to probe. */
export interface UpgradeOptions {
  /** First probe this long after opening on a fallback. @default 10000 */
  readonly initialDelayMs: number;
  /** Later probes back off up to this. @default 300000 */
  readonly maxDelayMs: number;
}

export interface ProbeHost {
  readonly clock: Clock;
  /** Starts a handshake on the preferred transport (with a hello for the current session). */
  startProbe(): Attempt;
  /** The probe completed its handshake: switch to it. */
  upgraded(link: Link): void;
  /** The probe failed; `lost` when the current link died while it ran: handle that loss now. */
  probeFailed(lost: CloseInfo | undefined): void;
}

export class UpgradeProber {
  readonly #o: UpgradeOptions;
  readonly #host: ProbeHost;
  readonly #timer: Timer;
  #delayMs: number;
  /** The probe under way; `stop()` clears it, so a settled probe that is still this one was not stopped. */
  #running: { cancel(): void } | undefined;
  /** The current link died while a probe ran: the connection handles that once the probe settles. */
  lost: CloseInfo | undefined;

  constructor(options: UpgradeOptions, host: ProbeHost) {
    this.#o = options;
    this.#host = host;
    this.#timer = new Timer(host.clock);
    this.#delayMs = options.initialDelayMs;
  }

  /** A probe handshake is under way (a loss of the current link waits for its outcome). */
  get inFlight(): boolean {
    return this.#running !== undefined;
  }

  /** Starts probing (the client opened on a fallback). */
  start(): void {
    this.stop();
    this.#timer.start(this.#delayMs, () => this.#run());
  }

  /** Stops probing and abandons a probe under way. */
  stop(): void {
    this.lost = undefined;
    this.#timer.stop();
    this.#running?.cancel();
    this.#running = undefined;
  }

  /** The preferred transport is in use again: the next fallback starts with short delays. */
  reset(): void {
    this.stop();
    this.#delayMs = this.#o.initialDelayMs;
  }

  #run(): void {
    const attempt = this.#host.startProbe();
    this.#running = attempt;
    attempt.done.then(
      (link) => {
        if (this.#running !== attempt) return link.close(1000, 'probe abandoned');
        this.#running = this.lost = undefined; // a loss of the old link is moot: the session moves over
        this.#host.upgraded(link);
      },
      () => {
        if (this.#running !== attempt) return;
        const lost = this.lost;
        this.#running = undefined;
        this.#delayMs = Math.min(this.#o.maxDelayMs, this.#delayMs * 2);
        this.start(); // clears `lost`: handed over below
        this.#host.probeFailed(lost);
      },
    );
  }
}
