import { SurelinkError } from './base.js';

/** The caller aborted the operation through its AbortSignal. */
export class AbortError extends SurelinkError {
  override readonly name = 'AbortError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}
