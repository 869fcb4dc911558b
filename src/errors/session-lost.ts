import { SurelinkError } from './base.js';
import type { QueuedMessage } from '../client/event-types.js';

/**
 * The server no longer had the session (its grace period ran out), so what was sent but never
 * acknowledged may or may not have arrived. `undelivered` lists those messages: the app decides.
 */
export class SessionLostError extends SurelinkError {
  override readonly name = 'SessionLostError';
  declare readonly undelivered: readonly QueuedMessage[];

  constructor(message: string, undelivered: readonly QueuedMessage[] = [], options?: { cause?: unknown }) {
    super('SESSION_LOST', message, options);
    this.undelivered = undelivered;
  }
}
