/**
 * How the connection reads the browser's lifecycle: offline and frozen pages (bfcache, freeze)
 * let go of the connection and wait without burning retry attempts; coming back reconnects at
 * once; a tab becoming visible checks the heartbeat deadline by the wall clock. A page that is
 * unloading, going hidden, being frozen or going offline stores its session first.
 */
import { ABNORMAL, GOING_AWAY } from '../protocol/close-codes.js';
import type { Clock } from '../util/clock.js';
import type { ClientState } from './event-types.js';
import type { Heartbeat } from './heartbeat.js';
import {
  defaultLifecycleEnvironment,
  isOffline,
  watchLifecycle,
  type LifecycleEnvironment,
  type LifecycleHandlers,
  type LifecycleSignal,
  type Pause,
} from './lifecycle.js';

/** What the pause logic may do to the connection. */
export interface PauseHost {
  readonly state: ClientState;
  readonly heartbeat: Heartbeat | undefined;
  readonly clock: Clock;
  drop(code: number, reason: string): void;
  go(to: ClientState, reason: string): void;
  /** A pause of `ms` ended: the retry policy's `elapsedMs` leaves it out, as a pause burns no attempts. */
  skip(ms: number): void;
  /** Stores the session as it is now (when there is storage this client owns): the page may never run again. */
  save(): void;
}

/**
 * The environment to watch, or `undefined` when nothing can fire (`false`, or Node without a
 * `window`): then the client holds no pause logic at all.
 */
export function lifecycleOf(option: LifecycleEnvironment | false | undefined): LifecycleEnvironment | undefined {
  if (option === false) return undefined;
  const env = option ?? defaultLifecycleEnvironment();
  return env.window || env.document ? env : undefined;
}

/** Bound while the client runs; its handler methods are the lifecycle listeners' targets. */
export class Pauses implements LifecycleHandlers {
  readonly #host: PauseHost;
  /** Stops listening: the client closed, and lets go of this object. */
  declare readonly unbind: () => void;
  #paused: Pause | undefined;
  /** When the pause began (one from the start needs none: `connect()` began a new streak, which it holds back). */
  #since = 0;

  constructor(host: PauseHost, env: LifecycleEnvironment) {
    this.#host = host;
    if (isOffline(env)) this.#paused = 'offline';
    this.unbind = watchLifecycle(env, this);
  }

  /** Why the connection is let go of right now, if it is. */
  get paused(): Pause | undefined {
    return this.#paused;
  }

  signal(signal: LifecycleSignal): void {
    const host = this.#host;
    const back = signal === 'online' || signal === 'resumed';
    const comeback = back || signal === 'visible';
    if (comeback && this.#paused) {
      // Heard only while the browser says it is online (lifecycle.ts), so any pause is over, even
      // when its own end never came: a page frozen or cached offline, back with the network.
      this.#paused = undefined;
      host.skip(host.clock.now() - this.#since);
      if (host.state === 'reconnecting') host.go('connecting', signal);
    } else if (comeback) {
      // Tab visible, or back without having let go here (the old socket often died with the network
      // change): act on an expired deadline now (`probe` also pings); skip a pending backoff.
      if (host.state === 'open') host.heartbeat?.[back ? 'probe' : 'check']();
      // Reconnecting: waiting for a backoff delay, which going on cuts short; also the one the check
      // just started for a link it found dead (a laptop waking), else the reconnect waited a delay.
      if (host.state === 'reconnecting') host.go('connecting', 'health check');
    } else {
      // `pagehide`: the page is unloading or went hidden, which stores the session and lets go of
      // nothing. Unloaded, hidden (a mobile browser may kill the tab then without another event), or
      // frozen/cached and maybe discarded there: the stored session must not lag behind (deliveries
      // no ack carried yet), else the next page resumes it and gets them a second time. Offline too:
      // the link goes, and with it the ack that would have stored them.
      host.save();
      if (signal === 'pagehide') return; // (frozen while offline comes as `offline`: lifecycle.ts)
      if (!this.#paused) this.#since = host.clock.now();
      this.#paused = signal as Pause; // online, resumed and visible were handled above
      // A backoff under way runs out without connecting while paused.
      if (host.state === 'open') host.drop(signal === 'offline' ? ABNORMAL : GOING_AWAY, signal);
      else if (host.state === 'connecting') host.go('reconnecting', signal); // which abandons the attempt
    }
  }
}
