import { SurelinkError } from './base.js';

/** A connect attempt did not complete the protocol handshake in time. */
export class ConnectTimeoutError extends SurelinkError {
  override readonly name = 'ConnectTimeoutError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECT_TIMEOUT', message, options);
  }
}
