import { SurelinkError } from './base.js';

/** An operation (request, ping, waitFor) did not finish in time. */
export class TimeoutError extends SurelinkError {
  override readonly name = 'TimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TIMEOUT', message, options);
  }
}
