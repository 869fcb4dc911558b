import { SurelinkError } from './base.js';

/**
 * Authentication failed. With a `closeCode` (4401, 4403) the server rejected the credentials and
 * the client stops reconnecting; without one, the `auth` callback itself failed and the client
 * retries with backoff.
 */
export class AuthError extends SurelinkError {
  override readonly name = 'AuthError';
  declare readonly closeCode: number | undefined;

  constructor(message: string, closeCode?: number, options?: { cause?: unknown }) {
    super('AUTH_REJECTED', message, options);
    this.closeCode = closeCode;
  }
}
