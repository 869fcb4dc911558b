import { SurelinkError } from './base.js';

/** The other side's request handler failed; `remoteCode` is the code it sent. */
export class RemoteError extends SurelinkError {
  override readonly name = 'RemoteError';
  declare readonly remoteCode: string;

  constructor(remoteCode: string, message: string) {
    super('REMOTE', message);
    this.remoteCode = remoteCode;
  }
}
