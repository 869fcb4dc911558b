const brand = Symbol.for('surelink.error');

/**
 * Base class of every error surelink raises. Switch on `code`, which is stable across versions.
 * `isSurelinkError` works across realms (iframes, duplicated bundles) where `instanceof` does not.
 * A subclass sets its own `name`, as subclasses of `Error` do.
 */
export class SurelinkError extends Error {
  // Fields are `declare`d and set in the constructor, here and in every subclass: a class field
  // would be emitted once more as a declaration.
  /** Stable machine-readable code, e.g. `'TIMEOUT'`. */
  declare readonly code: string;
  readonly [brand] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // A string, not `new.target.name`: minifiers rename classes, and apps compare names (`'AbortError'`).
    // Each subclass names itself the same way.
    this.name = 'SurelinkError';
  }
}

export function isSurelinkError(value: unknown): value is SurelinkError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}
