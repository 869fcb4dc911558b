import { SurelinkError } from './base.js';

/** A public method or option received a value it cannot use. */
export class InvalidArgumentError extends SurelinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}
