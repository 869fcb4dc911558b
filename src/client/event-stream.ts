/**
 * The async iterator behind `stream()`: a bounded buffer between a push source (an event
 * listener) and a pull consumer (`for await`). Kept apart from the emitter so each reads alone.
 */

// Not `AsyncIterableIterator<T, undefined, undefined>`: TypeScript before 5.6 declares that type
// with one parameter, and an app on such a version could not compile the declaration or iterate it.
/**
 * Payloads of one event as an async iterator.
 *
 * @example
 * const prices = client.stream('price');
 * for await (const p of prices) if (p.value > limit) break; // break removes the listener
 * console.log(prices.dropped); // payloads lost because the consumer fell behind
 */
export interface EventStream<T> extends AsyncIterator<T, undefined, undefined> {
  [Symbol.asyncIterator](): EventStream<T>;
  /** Payloads dropped (oldest first) because more than `bufferSize` were waiting. */
  readonly dropped: number;
}

/** The producer's handle on a stream. */
export interface StreamSource<T> {
  readonly stream: EventStream<T>;
  /** Delivers a payload to a waiting `next()`, or buffers it. Ignored once finished. */
  push(value: T): void;
  /**
   * Ends the stream: pending `next()`s resolve `{ done: true }`. With `drain`, buffered payloads
   * are still handed out first; without (abort, `return()`), they are discarded. Idempotent.
   */
  finish(drain: boolean): void;
}

type Waiter<T> = (result: IteratorResult<T, undefined>) => void;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Creates a stream holding at most `bufferSize` payloads; `onFinish` runs once, when it ends for
 * any reason (remove the listener there). The producer side stays in this closure: consumers only
 * see the iterator. (Closures, not a class: a stream lives only while someone iterates it, and
 * this is the smaller code.)
 */
export function openStream<T>(bufferSize: number, onFinish: () => void): StreamSource<T> {
  const buffer: T[] = [];
  const waiters: Array<Waiter<T>> = [];
  let finished = false;
  let dropped = 0;
  const finish = (drain: boolean): void => {
    if (!drain) buffer.length = 0;
    if (finished) return;
    finished = true;
    onFinish();
    // Waiters exist only while the buffer is empty, so draining cannot skip past them.
    for (const waiter of waiters.splice(0)) waiter(DONE);
  };
  const stream: EventStream<T> = {
    get dropped() {
      return dropped;
    },
    next: () =>
      buffer.length > 0
        ? Promise.resolve({ done: false, value: buffer.shift() as T })
        : finished
          ? Promise.resolve(DONE)
          : new Promise((resolve) => waiters.push(resolve)),
    return() {
      finish(false);
      return Promise.resolve(DONE);
    },
    throw(error?: unknown) {
      finish(false);
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  const push = (value: T): void => {
    if (finished) return;
    const waiter = waiters.shift();
    if (waiter) waiter({ done: false, value });
    else if (buffer.push(value) > bufferSize) {
      buffer.shift();
      dropped++;
    }
  };
  return { stream, push, finish };
}
