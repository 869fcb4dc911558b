import { SurelinkError } from './base.js';

/** The server no longer had the session, so the operation's outcome is unknown. */
export class SessionLostError extends SurelinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SESSION_LOST', message, options);
  }
}
