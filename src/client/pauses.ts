/**
 * How the connection reads the browser's lifecycle: offline and frozen pages (bfcache, freeze)
 * let go of the connection and wait without burning retry attempts; coming back reconnects at
 * once; a tab becoming visible checks the heartbeat deadline by the wall clock.
 */
import { CloseCode } from '../protocol/close-codes.js';
import type { ClientState } from './event-types.js';
import type { Heartbeat } from './heartbeat.js';
import {
  defaultLifecycleEnvironment,
  isOffline,
  watchPauses,
  type LifecycleEnvironment,
  type Pause,
} from './lifecycle.js';

/** What the pause logic may do to the connection. */
export interface PauseHost {
  state(): ClientState;
  heartbeat(): Heartbeat | undefined;
  /** A backoff delay is running. */
  retryPending(): boolean;
  drop(code: number, reason: string): void;
  stopRetry(): void;
  abandonAttempt(): void;
  go(to: ClientState, reason: string): void;
}

export class Pauses {
  readonly #host: PauseHost;
  #paused: Pause | undefined;
  #unbind: (() => void) | undefined;

  constructor(host: PauseHost) {
    this.#host = host;
  }

  /** Why the connection is let go of right now, if it is. */
  get paused(): Pause | undefined {
    return this.#paused;
  }

  /** Starts watching (idempotent); `false` ignores the browser. */
  bind(option: LifecycleEnvironment | false | undefined): void {
    if (this.#unbind || option === false) return;
    const env = option ?? defaultLifecycleEnvironment();
    if (isOffline(env)) this.#paused = 'offline';
    this.#unbind = watchPauses(env, {
      pause: (why) => this.#pause(why),
      resume: (why) => this.#resume(why),
      check: () => this.#healthCheck(),
    });
  }

  unbind(): void {
    this.#unbind?.();
    this.#unbind = undefined;
    this.#paused = undefined;
  }

  #pause(why: Pause): void {
    if (this.#paused === 'offline' && why === 'frozen') return;
    this.#paused = why;
    const host = this.#host;
    host.stopRetry();
    if (host.state() === 'open') host.drop(why === 'offline' ? CloseCode.Abnormal : CloseCode.GoingAway, why);
    else if (host.state() === 'connecting') {
      host.abandonAttempt();
      host.go('reconnecting', why);
    }
  }

  #resume(why: Pause): void {
    const host = this.#host;
    // Back online without having gone offline here: the old socket often died with the network change.
    if (this.#paused !== why) return void (host.state() === 'open' ? host.heartbeat()?.probe() : this.#healthCheck());
    this.#paused = undefined;
    if (host.state() === 'reconnecting') host.go('connecting', why === 'offline' ? 'online' : 'resumed');
  }

  /** Tab visible or network back: act on an expired deadline now; skip a pending backoff. */
  #healthCheck(): void {
    const host = this.#host;
    if (host.state() === 'open') host.heartbeat()?.check();
    else if (host.state() === 'reconnecting' && !this.#paused && host.retryPending()) {
      host.stopRetry();
      host.go('connecting', 'health check');
    }
  }
}
