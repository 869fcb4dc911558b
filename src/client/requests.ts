import { AbortError } from '../errors/abort.js';
import type { SurelinkError } from '../errors/base.js';
import { RemoteError } from '../errors/remote.js';
import { TimeoutError } from '../errors/timeout.js';
import type { ResponseFrame } from '../protocol/frames.js';
import { MAX_DELAY_MS, type Clock, type TimerHandle } from '../util/clock.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: SurelinkError): void;
  timer: TimerHandle;
  /** Requests: stops listening on the abort signal. */
  cleanup: (() => void) | undefined;
  /** Pings: the timestamp their pong echoes. */
  ts: number | undefined;
}

/** Options of `request()`. */
export interface RequestOptions {
  /**
   * Reject with `TimeoutError` when no response came in this long; `Infinity`: never. A request not
   * written to the link by then is withdrawn, as on abort.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Abort the wait. A request not written to the link yet (queued, or waiting for its write to an
   * asynchronous store) is withdrawn: it is not sent.
   */
  signal?: AbortSignal;
}

/**
 * Requests waiting for their response, keyed by correlation id. Ids count up from a random start
 * per client instance: a session persisted across a page reload holds the last page's requests
 * (re-sent, or answered late) under its ids, and a new page counting from 1 again would give its
 * own requests those ids, to be settled by the old responses. Two pages' ranges meet with a
 * chance of about (requests of both) / 2^52; a stored counter would be exact only if requests
 * made before an asynchronous store loaded were renumbered too. `ping()`
 * calls wait the same way, in a table of their own (`PingWaiters`): `wait` and `pong`.
 */
export class PendingRequests {
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending>();
  #nextId = Math.floor(Math.random() * 2 ** 52) + 1; // safe integers for 2^52 requests more

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Registers a request. `onGiveUp` runs when it times out or is aborted (to withdraw it from
   * the queue). Returns the id to put in the frame and the promise of the response data. A signal
   * aborted already is the caller's to refuse (`request()` does): it never queues such a request.
   */
  create(
    event: string,
    options: RequestOptions,
    onGiveUp: (id: number) => void,
  ): { id: number; promise: Promise<unknown> } {
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const id = this.#nextId++;
    const giveUp = (error: SurelinkError): void => {
      if (this.reject(id, error)) onGiveUp(id);
    };
    const onAbort = (): void => giveUp(new AbortError(`request '${event}' aborted`));
    const promise = this.#add(
      id,
      timeoutMs,
      () => giveUp(new TimeoutError(`request '${event}' timed out after ${timeoutMs} ms`)),
      () => signal?.removeEventListener('abort', onAbort),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    return { id, promise };
  }

  /** A ping sent with timestamp `ts`: resolves to the round-trip time when its pong comes. */
  wait(ts: number, timeoutMs: number): Promise<number> {
    const id = this.#nextId++;
    return this.#add(
      id,
      timeoutMs,
      () => this.reject(id, new TimeoutError(`no pong within ${timeoutMs} ms`)),
      undefined,
      ts,
    ) as Promise<number>;
  }

  /** Settles the pings a pong of `ts` answers with the round-trip time. */
  pong(ts: number, rtt: number): void {
    for (const [id, p] of this.#pending) if (p.ts === ts) this.#settle(id)?.resolve(rtt);
  }

  /** Settles the request a response answers; one no longer waiting (late or unknown) is ignored. */
  respond(frame: ResponseFrame): void {
    const entry = this.#settle(frame.id);
    if (!entry) return;
    if (frame.ok) entry.resolve(frame.data);
    else entry.reject(new RemoteError(frame.error.code, frame.error.message));
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
    for (const id of this.ids()) this.reject(id, error);
  }

  /** Registers a waiter under `id`; `onTimeout` runs after `timeoutMs` unless it was settled. */
  #add(id: number, timeoutMs: number, onTimeout: () => void, cleanup?: () => void, ts?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // Past what a timer holds (Infinity too) browsers and Node fire at once: that is no timeout.
      const timer = timeoutMs > MAX_DELAY_MS ? undefined : this.#clock.setTimeout(onTimeout, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, cleanup, ts });
    });
  }

  #settle(id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (!entry) return undefined;
    this.#pending.delete(id);
    this.#clock.clearTimeout(entry.timer);
    entry.cleanup?.();
    return entry;
  }
}
