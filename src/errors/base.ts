const brand = Symbol.for('surelink.error');

/**
 * Base class of every error surelink raises. Switch on `code`, which is stable across versions.
 * `isSurelinkError` works across realms (iframes, duplicated bundles) where `instanceof` does not.
 */
export class SurelinkError extends Error {
  /** Stable machine-readable code, e.g. `'TIMEOUT'`. */
  readonly code: string;
  readonly [brand] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export function isSurelinkError(value: unknown): value is SurelinkError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}
