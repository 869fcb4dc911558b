import { AbortError } from '../errors/abort.js';
import type { SurelinkError } from '../errors/base.js';
import { RemoteError } from '../errors/remote.js';
import { TimeoutError } from '../errors/timeout.js';
import type { ResponseFrame } from '../protocol/frames.js';
import type { Clock, TimerHandle } from '../util/clock.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: SurelinkError): void;
  timer: TimerHandle | undefined;
  cleanup(): void;
}

/** Options of `request()`. */
export interface RequestOptions {
  /** Reject with `TimeoutError` when no response came in this long. @default 10000 */
  timeoutMs?: number;
  /** Abort the wait; the request is withdrawn from the queue if it was not sent yet. */
  signal?: AbortSignal;
}

/**
 * Requests waiting for their response, keyed by correlation id. Ids are unique per client
 * instance, so a response re-sent after a resume can never settle the wrong request.
 */
export class PendingRequests {
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a request. `onGiveUp` runs when it times out or is aborted (to withdraw it from
   * the queue). Returns the id to put in the frame and the promise of the response data.
   */
  create(
    event: string,
    options: RequestOptions,
    onGiveUp: (id: number) => void,
  ): { id: number; promise: Promise<unknown> } {
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const promise = new Promise<unknown>((resolve, reject) => {
      const { signal } = options;
      const giveUp = (error: SurelinkError): void => {
        const entry = this.#settle(id);
        if (!entry) return;
        entry.reject(error);
        onGiveUp(id);
      };
      const onAbort = (): void => giveUp(new AbortError(`request '${event}' aborted`));
      const entry: Pending = {
        resolve,
        reject,
        timer: this.#clock.setTimeout(
          () => giveUp(new TimeoutError(`request '${event}' timed out after ${timeoutMs} ms`)),
          timeoutMs,
        ),
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      this.#pending.set(id, entry);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return { id, promise };
  }

  /** Settles the request a response answers; false when no such request waits (late or unknown). */
  respond(frame: ResponseFrame): boolean {
    const entry = this.#settle(frame.id);
    if (!entry) return false;
    if (frame.ok) entry.resolve(frame.data);
    else entry.reject(new RemoteError(frame.error.code, frame.error.message));
    return true;
  }

  /** Rejects one waiting request; false when it no longer waits. */
  reject(id: number, error: SurelinkError): boolean {
    const entry = this.#settle(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Ids of the requests still waiting for their response. */
  ids(): number[] {
    return [...this.#pending.keys()];
  }

  /** Rejects every waiting request (client closed, session lost). */
  rejectAll(error: SurelinkError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
  }

  #settle(id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (!entry) return undefined;
    this.#pending.delete(id);
    if (entry.timer !== undefined) this.#clock.clearTimeout(entry.timer);
    entry.cleanup();
    return entry;
  }
}
