import { SurelinkError } from './base.js';

/** The server rejected the credentials; the client stops reconnecting. */
export class AuthError extends SurelinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTH_REJECTED', message, options);
  }
}
