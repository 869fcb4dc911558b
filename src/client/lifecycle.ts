/**
 * Browser lifecycle in one place (logux's approach): network online/offline, tab visibility,
 * back/forward cache (pagehide/pageshow) and page freezing, bound together and removed together.
 * The environment is injected so tests pass jsdom objects or spies and Node passes nothing.
 */

/** The part of `EventTarget` used here; `window`, `document` and `self` fit. */
export interface EventTargetLike {
  addEventListener(type: string, listener: (ev: Event) => void): void;
  removeEventListener(type: string, listener: (ev: Event) => void): void;
}

/** Where lifecycle events come from; every member is optional (Node has none of them). */
export interface LifecycleEnvironment {
  /** Fires `online`, `offline`, `pagehide`, `pageshow`. */
  window?: EventTargetLike | undefined;
  /** Fires `visibilitychange`, `freeze`, `resume`. */
  document?: (EventTargetLike & { readonly visibilityState?: string }) | undefined;
  navigator?: { readonly onLine?: boolean } | undefined;
}

/**
 * What a lifecycle event means for a connection; events that mean nothing for it (a page shown
 * anew) give none:
 * - `offline` / `online`: the browser lost / regained its network; while it says it is offline,
 *   every event comes as `offline`;
 * - `frozen` / `resumed`: the page was frozen (Page Lifecycle API) or put in the back/forward
 *   cache, where timers and sockets stop / it came back from that;
 * - `pagehide`: the page may never run again, its last chance to store anything: it is being
 *   unloaded for good (a `pagehide` not persisted), or the tab went hidden (`visibilitychange`),
 *   after which a mobile browser may kill it without any other event;
 * - `visible`: the tab became visible, so timers may have been throttled: check the link now.
 */
export type LifecycleSignal = 'offline' | 'online' | 'frozen' | 'resumed' | 'pagehide' | 'visible';

/** Where the lifecycle's signals go (a method, so the client passes itself and holds no closure). */
export interface LifecycleHandlers {
  signal(signal: LifecycleSignal): void;
}

/**
 * The current realm's `window`, `document` and `navigator`, each `undefined` where absent (Node).
 * In a worker, `self` stands in for `window` (workers get `online`/`offline` there).
 *
 * @example
 * const unbind = watchLifecycle(defaultLifecycleEnvironment(), handlers);
 */
export function defaultLifecycleEnvironment(): LifecycleEnvironment {
  const { window: win, self, document, navigator } = globalThis as LifecycleEnvironment & { self?: EventTargetLike };
  return { window: win ?? (typeof self?.addEventListener === 'function' ? self : undefined), document, navigator };
}

/**
 * The signals of events that are not named like them (`online`, `offline` and an unloading
 * `pagehide` are their own), and those of a `visibilitychange`, by the state it went to.
 */
const SIGNALS: Readonly<Record<string, LifecycleSignal>> = {
  freeze: 'frozen',
  resume: 'resumed',
  visible: 'visible',
  hidden: 'pagehide',
};

/**
 * Binds the handlers to the environment's events. Returns one function that removes every
 * listener this call added; calling it again does nothing.
 *
 * @example
 * const unbind = watchLifecycle(defaultLifecycleEnvironment(), { signal: (s) => console.log(s) });
 * unbind(); // in close()
 */
export function watchLifecycle(env: LifecycleEnvironment, handlers: LifecycleHandlers): () => void {
  const { window: win, document: doc } = env;
  // One listener for every event (it reads `type`): a client holds one function, not seven.
  const listener = (ev: Event): void => {
    const type = ev.type;
    const persisted = (ev as Partial<PageTransitionEvent>).persisted; // only pagehide and pageshow have it
    const signal =
      type === 'visibilitychange'
        ? // An older state ('prerender') says nothing.
          SIGNALS[doc?.visibilityState as string]
        : // Back/forward cache: like a freeze and back. A page shown anew says nothing; one hidden
          // without being cached is unloaded for good (its own signal).
          persisted
          ? type === 'pagehide'
            ? 'frozen'
            : 'resumed'
          : type !== 'pageshow' && (SIGNALS[type] ?? (type as LifecycleSignal));
    // While the browser says it is offline, every event means that to a connection: a page frozen or
    // cached as the network went heard no `offline` (Chromium fires it after `resume`; a restored
    // page may never get it), and coming back must not start an attempt that fails and counts.
    if (signal) handlers.signal(isOffline(env) ? 'offline' : signal);
  };
  const each = (op: 'addEventListener' | 'removeEventListener'): void => {
    for (const type of ['online', 'offline', 'pagehide', 'pageshow']) win?.[op](type, listener);
    for (const type of ['visibilitychange', 'freeze', 'resume']) doc?.[op](type, listener);
  };
  each('addEventListener');
  let bound = true;
  return () => {
    if (bound) each('removeEventListener');
    bound = false;
  };
}

/**
 * True only when the browser says it is offline (`navigator.onLine === false`); unknown counts as
 * online, since `onLine: true` does not prove connectivity either.
 *
 * @example
 * if (isOffline(env)) waitForOnline(); else connect();
 */
export function isOffline(env: LifecycleEnvironment): boolean {
  return env.navigator?.onLine === false;
}

/**
 * True when the document reports itself hidden (background tab, minimised window).
 *
 * @example
 * if (!isHidden(env)) heartbeat.check();
 */
export function isHidden(env: LifecycleEnvironment): boolean {
  return env.document?.visibilityState === 'hidden';
}

/** Why a client lets go of its connection for a while. */
export type Pause = 'offline' | 'frozen';
