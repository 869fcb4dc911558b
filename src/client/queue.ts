import { QueueFullError } from '../errors/queue-full.js';
import type { QueuedMessage } from './event-types.js';

/** One message waiting for a connection; `requestId` marks a request. */
export interface QueueItem extends QueuedMessage {
  readonly requestId?: number;
}

export interface SendQueueOptions {
  readonly maxMessages: number;
  readonly overflow: 'drop-oldest' | 'drop-newest' | 'error';
  onOverflow(dropped: readonly QueueItem[]): void;
}

/** What the app sends while disconnected, in order, bounded. Flushed before `open` is announced. */
export class SendQueue {
  readonly #o: SendQueueOptions;
  #items: QueueItem[] = [];

  constructor(options: SendQueueOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Adds an item, applying the overflow policy. Throws `QueueFullError` under the `'error'` policy. */
  push(item: QueueItem): 'queued' | 'dropped' {
    if (this.#o.maxMessages === 0) {
      this.#o.onOverflow([item]);
      return 'dropped';
    }
    if (this.#items.length < this.#o.maxMessages) {
      this.#items.push(item);
      return 'queued';
    }
    if (this.#o.overflow === 'error') throw new QueueFullError(`offline queue is full (${this.#o.maxMessages} messages)`);
    if (this.#o.overflow === 'drop-newest') {
      this.#o.onOverflow([item]);
      return 'dropped';
    }
    const oldest = this.#items.shift() as QueueItem;
    this.#items.push(item);
    this.#o.onOverflow([oldest]);
    return 'queued';
  }

  /** Withdraws a queued request (timed out or aborted before it was sent). */
  removeRequest(requestId: number): void {
    this.#items = this.#items.filter((item) => item.requestId !== requestId);
  }

  /** Takes everything out, oldest first. */
  drain(): QueueItem[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
