import { SurelinkError } from './base.js';

/** The client was closed while the operation was pending. */
export class ClosedError extends SurelinkError {
  override readonly name = 'ClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLOSED', message, options);
  }
}
