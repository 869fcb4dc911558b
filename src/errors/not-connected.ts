import { SurelinkError } from './base.js';

/** The operation needs an open connection and there is none right now. */
export class NotConnectedError extends SurelinkError {
  override readonly name = 'NotConnectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_CONNECTED', message, options);
  }
}
