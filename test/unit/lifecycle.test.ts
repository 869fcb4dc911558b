import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultLifecycleEnvironment, isHidden, isOffline, watchLifecycle } from '../../src/client/lifecycle.js';
import type { EventTargetLike, LifecycleHandlers, LifecycleSignal } from '../../src/client/lifecycle.js';

/** Records the signals in order. */
function handlers(): LifecycleHandlers & { readonly seen: LifecycleSignal[] } {
  const seen: LifecycleSignal[] = [];
  return { seen, signal: (s) => void seen.push(s) };
}

/** An EventTarget that records which listeners are attached, to prove unbind removes them all. */
class SpyTarget extends EventTarget implements EventTargetLike {
  readonly attached = new Set<string>();
  visibilityState = 'visible';

  override addEventListener(type: string, listener: (ev: Event) => void): void {
    this.attached.add(type);
    super.addEventListener(type, listener);
  }

  override removeEventListener(type: string, listener: (ev: Event) => void): void {
    this.attached.delete(type);
    super.removeEventListener(type, listener);
  }
}

function setVisibility(state: string): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}

afterEach(() => {
  // Drop the own-property override so the jsdom prototype getter shows through again.
  Reflect.deleteProperty(document, 'visibilityState');
});

describe('watchLifecycle on jsdom', () => {
  it('maps online/offline on window', () => {
    const h = handlers();
    const unbind = watchLifecycle({ window, document }, h);
    window.dispatchEvent(new Event('offline'));
    window.dispatchEvent(new Event('online'));
    expect(h.seen).toEqual(['offline', 'online']);
    unbind();
  });

  it('reads pagehide/pageshow as frozen/resumed when `persisted` (back/forward cache), else pagehide as itself', () => {
    const h = handlers();
    const unbind = watchLifecycle({ window, document }, h);
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false })); // shown anew: nothing
    window.dispatchEvent(new Event('pageshow')); // no `persisted` at all: nothing
    window.dispatchEvent(new Event('pagehide')); // no `persisted` at all
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false })); // unloaded for good
    expect(h.seen).toEqual(['frozen', 'resumed', 'pagehide', 'pagehide']);
    unbind();
  });

  it('maps visibilitychange by document.visibilityState: visible, or hidden as pagehide (the page may be killed)', () => {
    const h = handlers();
    const unbind = watchLifecycle({ window, document }, h);
    setVisibility('hidden');
    setVisibility('visible');
    setVisibility('prerender'); // an older state, which says nothing: ignored
    setVisibility('visible');
    expect(h.seen).toEqual(['pagehide', 'visible', 'visible']);
    unbind();
  });

  it('maps freeze/resume on document', () => {
    const h = handlers();
    const unbind = watchLifecycle({ window, document }, h);
    document.dispatchEvent(new Event('freeze'));
    document.dispatchEvent(new Event('resume'));
    expect(h.seen).toEqual(['frozen', 'resumed']);
    unbind();
  });

  it('after unbind no handler runs', () => {
    const h = handlers();
    const unbind = watchLifecycle({ window, document }, h);
    unbind();
    for (const type of ['online', 'offline', 'pagehide', 'pageshow']) window.dispatchEvent(new Event(type));
    for (const type of ['visibilitychange', 'freeze', 'resume']) document.dispatchEvent(new Event(type));
    expect(h.seen).toEqual([]);
  });

  it('two watchers are independent', () => {
    const a = handlers();
    const b = handlers();
    const unbindA = watchLifecycle({ window, document }, a);
    const unbindB = watchLifecycle({ window, document }, b);
    unbindA();
    window.dispatchEvent(new Event('online'));
    expect(a.seen).toEqual([]);
    expect(b.seen).toEqual(['online']);
    unbindB();
  });
});

describe('watchLifecycle listener bookkeeping', () => {
  it('binds window and document events and one unbind removes every listener', () => {
    const win = new SpyTarget();
    const doc = new SpyTarget();
    const addWin = vi.spyOn(win, 'addEventListener');
    const removeWin = vi.spyOn(win, 'removeEventListener');
    const addDoc = vi.spyOn(doc, 'addEventListener');
    const removeDoc = vi.spyOn(doc, 'removeEventListener');
    const unbind = watchLifecycle({ window: win, document: doc }, handlers());
    expect([...win.attached].sort()).toEqual(['offline', 'online', 'pagehide', 'pageshow']);
    expect([...doc.attached].sort()).toEqual(['freeze', 'resume', 'visibilitychange']);
    unbind();
    expect(win.attached.size + doc.attached.size).toBe(0);
    // The very same listener functions were removed.
    expect(removeWin.mock.calls).toEqual(addWin.mock.calls);
    expect(removeDoc.mock.calls).toEqual(addDoc.mock.calls);
    unbind(); // idempotent
    expect(removeWin).toHaveBeenCalledTimes(4);
    expect(removeDoc).toHaveBeenCalledTimes(3);
  });

  it('reads visibilityState of the injected document', () => {
    const doc = new SpyTarget();
    const h = handlers();
    const unbind = watchLifecycle({ document: doc }, h);
    doc.dispatchEvent(new Event('visibilitychange'));
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(h.seen).toEqual(['visible', 'pagehide']);
    unbind();
  });

  it('an empty environment (Node) binds nothing and unbinds cleanly', () => {
    const unbind = watchLifecycle({}, handlers());
    expect(() => unbind()).not.toThrow();
  });
});

describe('environment helpers', () => {
  it('defaultLifecycleEnvironment() picks up the jsdom globals', () => {
    const env = defaultLifecycleEnvironment();
    expect(env.window).toBe(window);
    expect(env.document).toBe(document);
    expect(env.navigator).toBe(navigator);
  });

  it('defaultLifecycleEnvironment() without DOM globals (Node) is empty and watchable', () => {
    for (const name of ['window', 'document', 'navigator', 'self']) vi.stubGlobal(name, undefined);
    try {
      const env = defaultLifecycleEnvironment();
      expect(env).toEqual({ window: undefined, document: undefined, navigator: undefined });
      expect(isOffline(env)).toBe(false);
      watchLifecycle(env, handlers())();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('defaultLifecycleEnvironment() in a worker uses `self` for online/offline', () => {
    const workerScope = new SpyTarget();
    vi.stubGlobal('window', undefined);
    vi.stubGlobal('document', undefined);
    vi.stubGlobal('self', workerScope);
    try {
      const env = defaultLifecycleEnvironment();
      expect(env.window).toBe(workerScope);
      expect(env.document).toBeUndefined();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('isOffline() is true only for navigator.onLine === false', () => {
    expect(isOffline({ navigator: { onLine: false } })).toBe(true);
    expect(isOffline({ navigator: { onLine: true } })).toBe(false);
    expect(isOffline({ navigator: {} })).toBe(false);
    expect(isOffline({})).toBe(false);
    expect(isOffline({ navigator })).toBe(!navigator.onLine);
  });

  it('isHidden() reads document.visibilityState', () => {
    expect(isHidden({ document: Object.assign(new SpyTarget(), { visibilityState: 'hidden' }) })).toBe(true);
    expect(isHidden({ document: new SpyTarget() })).toBe(false);
    expect(isHidden({})).toBe(false);
  });
});
