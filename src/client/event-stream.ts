/**
 * The async iterator behind `stream()`: a bounded buffer between a push source (an event
 * listener) and a pull consumer (`for await`). Kept apart from the emitter so each reads alone.
 */

/**
 * Payloads of one event as an async iterator.
 *
 * @example
 * const prices = client.stream('price');
 * for await (const p of prices) if (p.value > limit) break; // break removes the listener
 * console.log(prices.dropped); // payloads lost because the consumer fell behind
 */
export interface EventStream<T> extends AsyncIterableIterator<T, undefined, undefined> {
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
 * any reason (remove the listener there).
 */
export function openStream<T>(bufferSize: number, onFinish: () => void): StreamSource<T> {
  return BufferedStream.open<T>(bufferSize, onFinish);
}

/** The producer side stays private: consumers only see the iterator. */
class BufferedStream<T> implements EventStream<T> {
  readonly #buffer: T[] = [];
  readonly #waiters: Array<Waiter<T>> = [];
  readonly #bufferSize: number;
  readonly #onFinish: () => void;
  #finished = false;
  #dropped = 0;

  static open<T>(bufferSize: number, onFinish: () => void): StreamSource<T> {
    const stream = new BufferedStream<T>(bufferSize, onFinish);
    return { stream, push: (value) => stream.#push(value), finish: (drain) => stream.#finish(drain) };
  }

  private constructor(bufferSize: number, onFinish: () => void) {
    this.#bufferSize = bufferSize;
    this.#onFinish = onFinish;
  }

  get dropped(): number {
    return this.#dropped;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#buffer.length > 0) return Promise.resolve({ done: false, value: this.#buffer.shift() as T });
    if (this.#finished) return Promise.resolve(DONE);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#finish(false);
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    this.#finish(false);
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #push(value: T): void {
    if (this.#finished) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter({ done: false, value });
      return;
    }
    this.#buffer.push(value);
    if (this.#buffer.length > this.#bufferSize) {
      this.#buffer.shift();
      this.#dropped++;
    }
  }

  #finish(drain: boolean): void {
    if (!drain) this.#buffer.length = 0;
    if (this.#finished) return;
    this.#finished = true;
    this.#onFinish();
    // Waiters exist only while the buffer is empty, so draining cannot skip past them.
    for (const waiter of this.#waiters.splice(0)) waiter(DONE);
  }
}
