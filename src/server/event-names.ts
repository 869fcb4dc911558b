/**
 * Which event names may travel where. The client's lifecycle names (`RESERVED_EVENTS`) may not be
 * sent to it; the session's own lifecycle names may not come from a client, since they share the
 * session's `on()`.
 */
import { InvalidArgumentError } from '../errors/invalid-argument.js';
import { SESSION_EVENTS, badName, isReservedEvent, isSendableByClient, type SessionEvent } from '../protocol/frames.js';

/** Session lifecycle event names; a client event may not use them (close 4400). */
export const SESSION_LIFECYCLE_EVENTS = SESSION_EVENTS;

export type SessionLifecycleEvent = SessionEvent;

/** Whether a client may send an event of this name. */
export const isAllowedClientEvent = isSendableByClient;

/** Rejects names the client would treat as a protocol error, before anything is sent. */
export function assertServerEventName(event: unknown): asserts event is string {
  const bad = badName(event);
  if (bad !== undefined) throw new InvalidArgumentError(`event ${bad}`);
  if (isReservedEvent(event as string)) throw new InvalidArgumentError(`"${event}" is a reserved event name`);
}
