/**
 * Which event names may travel where. The client's lifecycle names (`RESERVED_EVENTS`) may not be
 * sent to it; the session's own lifecycle names may not come from a client, since they share the
 * session's `on()`.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { SESSION_EVENTS, isReservedEvent, isSendableByClient, type SessionEvent } from '../protocol/frames.js';

/** Session lifecycle event names; a client event may not use them (close 4400). */
export const SESSION_LIFECYCLE_EVENTS = SESSION_EVENTS;

export type SessionLifecycleEvent = SessionEvent;

/** Whether a client may send an event of this name. */
export const isAllowedClientEvent = isSendableByClient;

/** Rejects names the client would treat as a protocol error, before anything is sent. */
export function assertServerEventName(event: unknown): asserts event is string {
  if (typeof event !== 'string' || event.length === 0 || event.length > 256) {
    throw new InvalidArgumentError(`event name must be 1-256 characters, got ${JSON.stringify(event)}`);
  }
  if (isReservedEvent(event)) throw new InvalidArgumentError(`"${event}" is a reserved event name`);
}
