/**
 * The typed emitter behind `client.on()`: eventemitter3 for dispatch, plus what a realtime client
 * needs on top: handler errors isolated, `waitFor` with timeout and AbortSignal, async-iterator
 * streams, and `end()` to settle everything pending when the client closes.
 */
import { EventEmitter } from 'eventemitter3';
import { AbortError } from '../errors/abort.js';
import { ClosedError } from '../errors/closed.js';
import { InvalidArgumentError, checkCallOptions } from '../errors/invalid-argument.js';
import { TimeoutError } from '../errors/timeout.js';
import type { Clock } from '../util/clock.js';
import { openStream } from './event-stream.js';
import type { EventStream } from './event-stream.js';

export type { EventStream } from './event-stream.js';

/** What eventemitter3 calls; it carries what `off()` and `end()` look for. */
type Listener = ((payload: unknown) => void) & {
  remove?: () => void;
  /** `on`/`once`: the handler given (only these does `off()` remove). */
  handler?: unknown;
  /** `waitFor`/`stream`: settles it when the emitter ends. */
  end?: ((error: Error) => void) | undefined;
};

/** Options of {@link TypedEmitter}. */
export interface TypedEmitterOptions {
  readonly clock: Clock;
  /**
   * Receives what a handler threw (`event` is the event it handled); the other handlers still run.
   * Must not throw; re-emitting on `'error'` from here needs a guard against a throwing error handler.
   */
  onHandlerError(error: unknown, event: string): void;
  /** Closed for good (`close()`): `waitFor` rejects with a `ClosedError` and `stream` ends at once. */
  readonly disposed?: boolean;
}

/** Options of {@link TypedEmitter.waitFor}. */
export interface WaitForOptions {
  /** Reject with a `TimeoutError` after this long. @default no timeout */
  timeoutMs?: number;
  /** Reject with an `AbortError` when aborted (at once if already aborted). */
  signal?: AbortSignal;
}

/** Options of {@link TypedEmitter.stream}. */
export interface StreamOptions {
  /** Ends the stream: a pending `next()` resolves `{ done: true }`. */
  signal?: AbortSignal;
  /** Payloads buffered for a slow consumer; beyond it the oldest are dropped. @default 1024 */
  bufferSize?: number;
}

/**
 * Event emitter typed by a map of event name to payload type.
 *
 * @example
 * const events = new TypedEmitter<{ chat: { text: string } }>({ clock: systemClock, onHandlerError: console.error });
 * const off = events.on('chat', (msg) => console.log(msg.text));
 * events.emit('chat', { text: 'hi' });
 * off();
 */
export class TypedEmitter<M extends object> {
  /** Kept as given: the client passes itself, not a fresh object with a closure. */
  readonly #o: TypedEmitterOptions;
  // Not created lazily: the client creates this emitter with its first subscription and drops it
  // once idle (core.ts), so an idle one never lives long.
  readonly #ee = new EventEmitter<Record<string, [unknown]>>();
  /** Listeners added and not yet removed: `idle` is read after every emit, so a count, not a scan. */
  #n = 0;

  constructor(options: TypedEmitterOptions) {
    this.#o = options;
  }

  /** Nothing listens and nothing waits: the emitter holds no state and can be dropped. */
  get idle(): boolean {
    return this.#n === 0;
  }

  /** Calls `handler` for every `event`; returns an idempotent unsubscribe. */
  on<K extends keyof M & string>(event: K, handler: (payload: M[K]) => void): () => void {
    return this.#add(event, handler, false);
  }

  /** Calls `handler` for the next `event` only; the returned function cancels it. */
  once<K extends keyof M & string>(event: K, handler: (payload: M[K]) => void): () => void {
    return this.#add(event, handler, true);
  }

  /** Removes `handler` from `event` (every time it was added), or all of `event`'s handlers. */
  off<K extends keyof M & string>(event: K, handler?: (payload: M[K]) => void): void {
    for (const l of this.#listeners(event))
      if (l.handler !== undefined && (handler === undefined || l.handler === handler)) l.remove?.();
  }

  /**
   * Calls the handlers of `event` in the order they were added. A handler that throws is reported
   * to `onHandlerError`; the others still run. A handler removed during the emit is not called.
   */
  emit<K extends keyof M & string>(event: K, payload: M[K]): void {
    this.#ee.emit(event, payload);
  }

  /**
   * Resolves with the next `event`'s payload. Whatever the outcome, its listener, timer and abort
   * listener are removed.
   *
   * @throws (rejects) TimeoutError, AbortError, or the error given to `end()`.
   * @example
   * const { transport } = await events.waitFor('open', { timeoutMs: 5000, signal });
   */
  waitFor<K extends keyof M & string>(event: K, options: WaitForOptions = {}): Promise<M[K]> {
    return new Promise<M[K]>((resolve, reject) => {
      const { timeoutMs, signal } = options;
      checkCallOptions('waitFor', options); // a throw here rejects
      if (this.#o.disposed) throw new ClosedError('client was closed'); // nothing will ever emit
      const { clock } = this.#o;
      const settle = <T>(done: (value: T) => void, value: T): void => {
        remove();
        clock.clearTimeout(timer); // a clock takes `undefined`, as clearTimeout does
        done(value);
      };
      const fail = (error: Error): void => settle(reject, error);
      const onAbort = (): void => fail(new AbortError(`waitFor('${event}') was aborted`, { cause: signal?.reason }));
      const remove = this.#add(event, (payload: M[K]) => settle(resolve, payload), true, fail, signal, onAbort);
      // No timer for `undefined` or Infinity (checked above: nothing else is out of a timer's range).
      const timer =
        (timeoutMs as number) < Infinity
          ? clock.setTimeout(() => fail(new TimeoutError(`no '${event}' within ${timeoutMs} ms`)), timeoutMs as number)
          : undefined;
      // Aborted already: settled at once, which takes back the listeners and the timer just set.
      if (signal?.aborted) onAbort();
    });
  }

  /**
   * An async iterator over `event`'s payloads, for `for await`. Its listener goes away on
   * `break`/`return()`/`throw()`, on abort (a pending `next()` then resolves `{ done: true }`) and
   * on `end()` (after the buffered payloads). Payloads beyond `bufferSize` drop the oldest; the
   * stream's `dropped` counts them.
   *
   * @example
   * for await (const price of events.stream('price', { signal })) render(price);
   */
  stream<K extends keyof M & string>(event: K, options: StreamOptions = {}): EventStream<M[K]> {
    const { signal, bufferSize = 1024 } = options;
    checkCallOptions('stream', options);
    // An integer (Infinity included: it floors to itself, NaN never equals itself) from 1.
    if (!(Math.floor(bufferSize) === bufferSize && bufferSize >= 1)) {
      throw new InvalidArgumentError(`stream: bufferSize must be an integer >= 1 or Infinity, got ${bufferSize}`);
    }
    const { stream, push, finish } = openStream<M[K]>(bufferSize, () => remove());
    const onAbort = (): void => finish(false);
    const remove = this.#add(event, push, false, () => finish(true), signal, onAbort);
    // Aborted already, or nothing will ever emit: a finished stream, its listeners taken back at once.
    if (signal?.aborted || this.#o.disposed) onAbort();
    return stream;
  }

  /** Listeners of `event`, or of every event when none is given (waitFor and streams included). */
  listenerCount(event?: keyof M & string): number {
    return this.#listeners(event).length;
  }

  /**
   * Settles everything pending: open streams finish (after their buffered payloads) and pending
   * `waitFor`s reject with `error`. Handlers added with `on`/`once` stay; the emitter remains usable.
   */
  end(error: Error): void {
    for (const l of this.#listeners()) l.end?.(error);
  }

  /** The listeners of `event`, or of every event (a copy: safe to remove while iterating). */
  #listeners(event?: string): Listener[] {
    const ee = this.#ee;
    return (
      event === undefined ? ee.eventNames().flatMap((name) => ee.listeners(name)) : ee.listeners(event)
    ) as Listener[];
  }

  /**
   * Adds a listener. Without `end` (on/once), `fn` is the app's handler: off() finds it. With `end`
   * (waitFor/stream), `end()` settles it, and nothing but the listener itself removes it otherwise.
   * `onAbort` listens on `signal` as long (one already aborted is the caller's to act on).
   */
  #add<T>(
    event: string,
    fn: (payload: T) => void,
    once: boolean,
    end?: (error: Error) => void,
    signal?: AbortSignal,
    onAbort?: () => void,
  ): () => void {
    // on/once: else subscribed, to throw on every payload into the (silent by default) logger.
    if (typeof fn != 'function') throw new InvalidArgumentError('on(): handler must be a function');
    let active = true;
    const remove = (): void => {
      if (!active) return;
      active = false;
      this.#n--;
      this.#ee.off(event, listener);
      signal?.removeEventListener('abort', onAbort as () => void);
    };
    const listener: Listener = (payload) => {
      // eventemitter3 dispatches over a snapshot: skip a listener removed earlier in this emit.
      if (!active) return;
      if (once) remove();
      try {
        fn(payload as T);
      } catch (error) {
        this.#o.onHandlerError(error, event);
      }
    };
    listener.remove = remove;
    listener.handler = end ? undefined : fn;
    listener.end = end;
    this.#ee.on(event, listener);
    this.#n++;
    signal?.addEventListener('abort', onAbort as () => void, { once: true });
    return remove;
  }
}
