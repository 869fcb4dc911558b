/**
 * A minimal listener registry for the server and its sessions. Unlike node's EventEmitter, a
 * listener that throws (or returns a rejected promise) never escapes into the caller: it is handed
 * to `onListenerError`, so one faulty handler cannot crash the process or kill a socket.
 */

/** Internal listener shape; the public `on()` overloads give each event its payload type. */
export type Listener = (payload: never) => unknown;

export class Listeners {
  /** Replaced, never changed in place: an emit under way goes on with the listeners it started with. */
  readonly #byName = new Map<string, readonly Listener[]>();
  readonly #onListenerError: (error: unknown, event: string) => void;

  constructor(onListenerError: (error: unknown, event: string) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Set by `final`: the last event and its payload. */
  #final: readonly [string, unknown] | undefined;

  /**
   * Adds a listener; the returned function removes it (idempotent). After `final`, one for that
   * event is called in a microtask with its payload, and one for any other event never.
   */
  on(event: string, listener: Listener): () => void {
    const final = this.#final;
    if (final) {
      let live = event === final[0];
      if (live) queueMicrotask(() => live && this.#call(listener, event, final[1]));
      return () => (live = false);
    }
    // Wrap so the same function registered twice gets two independent subscriptions.
    const entry: Listener = (payload) => listener(payload);
    this.#byName.set(event, [...(this.#byName.get(event) ?? []), entry]);
    return () => {
      const list = this.#byName.get(event)?.filter((l) => l !== entry);
      if (!list) return;
      if (list.length > 0) this.#byName.set(event, list);
      else this.#byName.delete(event);
    };
  }

  has(event: string): boolean {
    return this.#byName.has(event);
  }

  /** Calls every listener of `event` with `payload`, in registration order. */
  emit(event: string, payload: unknown): void {
    const list = this.#byName.get(event);
    if (!list) return;
    for (let i = 0; i < list.length; i++) this.#call(list[i] as Listener, event, payload);
  }

  /** Emits `event` as the last one: every listener goes, and later ones are as `on` says. */
  final(event: string, payload: unknown): void {
    this.#final = [event, payload];
    this.emit(event, payload);
    this.clear();
  }

  clear(): void {
    this.#byName.clear();
  }

  #call(listener: Listener, event: string, payload: unknown): void {
    try {
      const result = (listener as (payload: unknown) => unknown)(payload);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.#onListenerError(error, event));
    } catch (error) {
      this.#onListenerError(error, event);
    }
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Normalises anything thrown into an Error; never throws itself (it runs inside error paths). */
export function toError(value: unknown): Error {
  if (typeof value === 'string') return new Error(value);
  try {
    // Both can run application code (a Proxy's getPrototypeOf trap, a throwing toString).
    if (value instanceof Error) return value;
    return new Error(`non-error thrown: ${String(value)}`, { cause: value });
  } catch {
    return new Error('non-error thrown', { cause: value });
  }
}
