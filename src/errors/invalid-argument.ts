import { MAX_DELAY_MS } from '../util/clock.js';
import { SurelinkError } from './base.js';

/** A public method or option received a value it cannot use. */
export class InvalidArgumentError extends SurelinkError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/**
 * `value` when it is a number from `min` (excluded when `open`) to `max`; otherwise throws an
 * `InvalidArgumentError` naming `name`. NaN is in no range.
 */
export function inRange(name: string, value: number, min: number, max: number, open = false): number {
  if (!(typeof value === 'number' && (open ? value > min : value >= min) && value <= max))
    throw new InvalidArgumentError(
      `${name} must be a number in ${open ? '(' : '['}${min}, ${max}], got ${String(value)}`,
    );
  return value;
}

/** `value` when it is one of `allowed`; otherwise throws an `InvalidArgumentError` naming `name`. */
export function oneOf<T extends string>(name: string, value: T, allowed: readonly NoInfer<T>[]): T {
  if (!allowed.includes(value))
    throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  return value;
}

/**
 * Throws an `InvalidArgumentError` for a `timeoutMs` option that is neither a delay a timer holds
 * nor `Infinity` (no timeout), or a `signal` that is not an `AbortSignal`; `undefined` means the default.
 */
export function checkCallOptions(
  name: string,
  { timeoutMs, signal }: { timeoutMs?: number; signal?: AbortSignal },
): void {
  if (timeoutMs !== undefined && timeoutMs !== Infinity) inRange(`${name}: timeoutMs`, timeoutMs, 0, MAX_DELAY_MS);
  // Else a TypeError from inside, after a listener or a request's timer was registered, left to throw later.
  if (signal != null && typeof signal.addEventListener != 'function')
    throw new InvalidArgumentError(`${name}: signal must be an AbortSignal`);
}

/** `o` when it has each method of `methods`; otherwise throws an `InvalidArgumentError` naming `name`. */
export function withMethods<T>(name: string, o: T, methods: readonly string[]): T {
  for (const m of methods)
    if (typeof (o as Record<string, unknown> | null | undefined)?.[m] != 'function')
      throw new InvalidArgumentError(`${name} needs ${m}()`);
  return o;
}
