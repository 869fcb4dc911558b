import { SurelinkError } from './base.js';

/** One transport failed to connect or lost its connection. */
export class TransportError extends SurelinkError {
  override readonly name = 'TransportError';
  /** Which transport failed, e.g. `'websocket'`. */
  declare readonly transport: string;
  /** Close code the failure maps to (see close-codes). */
  declare readonly closeCode: number;

  constructor(transport: string, message: string, closeCode = 1006, options?: { cause?: unknown }) {
    super('TRANSPORT', message, options);
    this.transport = transport;
    this.closeCode = closeCode;
  }
}

/** Every transport in the fallback list failed; `errors` holds each one's failure in order. */
export class FallbackError extends SurelinkError {
  override readonly name = 'FallbackError';
  declare readonly errors: readonly SurelinkError[];

  constructor(errors: readonly SurelinkError[]) {
    super('ALL_TRANSPORTS_FAILED', `all transports failed: ${errors.map((e) => e.message).join('; ')}`);
    this.errors = errors;
  }
}

/**
 * `cause` as a TransportError of `transport`: itself when it is one, else wrapped (code 1006), its
 * text after `context` when given.
 */
export function asTransportError(transport: string, cause: unknown, context?: string): TransportError {
  if (cause instanceof TransportError) return cause;
  const text = String(cause);
  return new TransportError(transport, context ? `${context}: ${text}` : text, 1006, { cause });
}
