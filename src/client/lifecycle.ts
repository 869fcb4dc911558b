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

/** What the client does on each lifecycle change. */
export interface LifecycleHandlers {
  /** The browser lost its network: pause retries. */
  offline(): void;
  /** The network is back: check the link or reconnect now. */
  online(): void;
  /** The tab became visible: timers may have been throttled, check the link now. */
  visible(): void;
  hidden(): void;
  /** The page is being unloaded, or put in the back/forward cache when `persisted`. */
  pageHide(persisted: boolean): void;
  /** The page was shown; `persisted` when restored from the back/forward cache. */
  pageShow(persisted: boolean): void;
  /** The page was frozen (Page Lifecycle API): timers and sockets stop. */
  freeze(): void;
  /** The page was unfrozen. */
  resume(): void;
}

/**
 * The current realm's `window`, `document` and `navigator`, each `undefined` where absent (Node).
 * In a worker, `self` stands in for `window` (workers get `online`/`offline` there).
 *
 * @example
 * const unbind = watchLifecycle(defaultLifecycleEnvironment(), handlers);
 */
export function defaultLifecycleEnvironment(): LifecycleEnvironment {
  const win: EventTargetLike | undefined =
    typeof window !== 'undefined'
      ? window
      : typeof self !== 'undefined' && typeof self.addEventListener === 'function'
        ? self
        : undefined;
  return {
    window: win,
    document: typeof document !== 'undefined' ? document : undefined,
    navigator: typeof navigator !== 'undefined' ? navigator : undefined,
  };
}

function persisted(ev: Event): boolean {
  return 'persisted' in ev && ev.persisted === true;
}

const WINDOW_EVENTS = ['online', 'offline', 'pagehide', 'pageshow'] as const;
const DOCUMENT_EVENTS = ['visibilitychange', 'freeze', 'resume'] as const;

/**
 * Binds the handlers to the environment's events. Returns one function that removes every
 * listener this call added; calling it again does nothing.
 *
 * @example
 * const unbind = watchLifecycle(defaultLifecycleEnvironment(), {
 *   offline: () => retries.pause(), online: () => heartbeat.probe(), visible: () => heartbeat.check(),
 *   hidden() {}, pageHide() {}, pageShow() {}, freeze() {}, resume() {},
 * });
 * unbind(); // in close()
 */
export function watchLifecycle(env: LifecycleEnvironment, handlers: LifecycleHandlers): () => void {
  const { window: win, document: doc } = env;
  // One listener for every event (it reads `type`): a client holds one function, not seven.
  const listener = (ev: Event): void => {
    switch (ev.type) {
      case 'online':
        return handlers.online();
      case 'offline':
        return handlers.offline();
      case 'pagehide':
        return handlers.pageHide(persisted(ev));
      case 'pageshow':
        return handlers.pageShow(persisted(ev));
      case 'visibilitychange':
        // Other states ('prerender', unknown future ones) say nothing about throttling.
        if (doc?.visibilityState === 'visible') handlers.visible();
        else if (doc?.visibilityState === 'hidden') handlers.hidden();
        return;
      case 'freeze':
        return handlers.freeze();
      case 'resume':
        return handlers.resume();
    }
  };
  const each = (op: 'addEventListener' | 'removeEventListener'): void => {
    for (const type of WINDOW_EVENTS) win?.[op](type, listener);
    for (const type of DOCUMENT_EVENTS) doc?.[op](type, listener);
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
