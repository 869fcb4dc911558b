import { SurelinkError } from './base.js';

/** A frame was malformed, oversized, of an unknown type or out of place. */
export class ProtocolError extends SurelinkError {
  override readonly name = 'ProtocolError';
  /** The close code the connection is closed with because of this error. */
  declare readonly closeCode: number;

  constructor(message: string, closeCode = 4400, options?: { cause?: unknown }) {
    super('PROTOCOL', message, options);
    this.closeCode = closeCode;
  }
}
