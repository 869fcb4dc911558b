/**
 * Request handlers registered with `server.handle(name, fn)`, and how their outcome becomes a
 * response: the resolved value is the data; a throw becomes `{ code, message }` (see `failure`).
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { encodeFrame } from '../protocol/codec.js';
import { badName, type RemoteError } from '../protocol/frames.js';
import { assertFitsClient } from './outgoing.js';

export type RequestOutcome =
  | { readonly ok: true; readonly data: unknown }
  /**
   * `unexpected` marks throws without their own string `code`: bugs rather than deliberate
   * refusals, reported through the server's `error` event. `cause` is what was thrown.
   */
  | { readonly ok: false; readonly error: RemoteError; readonly unexpected: boolean; readonly cause?: unknown };

/** Stable codes of failed responses the server produces itself. */
export const RequestErrorCode = {
  NoHandler: 'NO_HANDLER',
  HandlerError: 'HANDLER_ERROR',
  /** The session made requests faster than `requestRateLimit` allows; the handler did not run. */
  RateLimited: 'RATE_LIMITED',
  /** `maxPendingRequests` of the session's handlers were still running; this one did not run. */
  Busy: 'BUSY',
} as const;

/** The outcome of a request refused by the rate limit (not run, so safe to make again later). */
export function rateLimited(name: string): RequestOutcome {
  return refused(RequestErrorCode.RateLimited, `request "${name}" refused: too many requests`);
}

/** The outcome of a request refused while `running` of the session's requests run (not run either). */
export function busy(name: string, running: number): RequestOutcome {
  return refused(RequestErrorCode.Busy, `request "${name}" refused: ${running} requests of this session are running`);
}

function refused(code: string, message: string): RequestOutcome {
  return { ok: false, error: { code, message }, unexpected: false };
}

type Handler<S> = (data: unknown, session: S) => unknown;

export class RequestHandlers<S> {
  readonly #handlers = new Map<string, Handler<S>>();

  /** One handler per name; registering a second one is a mistake worth an exception. */
  register(name: string, handler: Handler<S>): () => void {
    const bad = badName(name);
    if (bad !== undefined) throw new InvalidArgumentError(`handle: request ${bad}`);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`handle: handler for "${name}" is not a function`);
    if (this.#handlers.has(name)) throw new InvalidArgumentError(`handle: "${name}" already has a handler`);
    // Its own entry, as for listeners: a remover called again must not remove a later
    // registration of the same function.
    const entry: Handler<S> = (data, session) => handler(data, session);
    this.#handlers.set(name, entry);
    return () => {
      if (this.#handlers.get(name) === entry) this.#handlers.delete(name);
    };
  }

  /** Runs the handler of `name`; never rejects. */
  async run(name: string, data: unknown, session: S): Promise<RequestOutcome> {
    const handler = this.#handlers.get(name);
    if (!handler) {
      return {
        ok: false,
        error: { code: RequestErrorCode.NoHandler, message: `no handler for request "${name}"` },
        unexpected: false,
      };
    }
    try {
      return { ok: true, data: await handler(data, session) };
    } catch (thrown) {
      return failure(thrown);
    }
  }
}

/**
 * What the client reads of a handler that failed without a code of its own, or with a Node system
 * error's (`ENOENT`, `ECONNREFUSED`: they carry `syscall` or `errno`). That is a bug, not a
 * refusal, and its message names internals (paths, hosts): the client gets this, and the server's
 * `error` event the real error (SignalR's default does the same).
 */
const HANDLER_FAILED = 'request handler failed';

function failure(thrown: unknown): RequestOutcome {
  try {
    const { code, syscall, errno } = (thrown ?? {}) as { code?: unknown; syscall?: unknown; errno?: unknown };
    if (typeof code === 'string' && code.length > 0 && syscall === undefined && errno === undefined)
      return { ok: false, error: { code, message: messageOf(thrown) }, unexpected: false, cause: thrown };
  } catch {
    // Reading `code` ran a getter (or a Proxy trap) that threw in turn. The request was delivered
    // and acknowledged, so the client never re-sends it: it must still be answered.
  }
  const error = { code: RequestErrorCode.HandlerError, message: HANDLER_FAILED };
  return { ok: false, error, unexpected: true, cause: thrown };
}

function messageOf(thrown: unknown): string {
  try {
    // An Error's message, or a plain `{ code, message }`'s (the wire's own error shape). Without a
    // non-empty string one (`{ code }` alone), the generic message: not "[object Object]".
    const message = (thrown as { message?: unknown }).message;
    if (typeof message === 'string' && message !== '') return message;
  } catch {
    // A getter that throws: no message to read.
  }
  return HANDLER_FAILED;
}

/**
 * The wire text of the response to request `id` with sequence number `seq`. Data JSON cannot
 * encode (BigInt, cycles), or a response over what a client accepts, becomes a HANDLER_ERROR
 * response; `encodeError` says why.
 */
export function encodeResponse(
  seq: number,
  id: number,
  outcome: RequestOutcome,
): { text: string; encodeError?: unknown } {
  let message = 'response data cannot be encoded as JSON';
  try {
    const text = encodeFrame(
      outcome.ok
        ? { type: 'response', seq, id, ok: true, data: outcome.data }
        : { type: 'response', seq, id, ok: false, error: outcome.error },
    );
    // A response the client would refuse (4413) would end the session: the request fails instead.
    message = 'response too large for the client';
    assertFitsClient(`response to request ${id}`, text.length);
    return { text };
  } catch (encodeError) {
    const error = { code: RequestErrorCode.HandlerError, message };
    return { text: encodeFrame({ type: 'response', seq, id, ok: false, error }), encodeError };
  }
}
