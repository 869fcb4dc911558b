import { SurelinkError } from './base.js';

/** The offline queue is full and its overflow policy is `'error'`. */
export class QueueFullError extends SurelinkError {
  override readonly name = 'QueueFullError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('QUEUE_FULL', message, options);
  }
}
