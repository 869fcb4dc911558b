import type { ClientState } from './event-types.js';

/** Every allowed transition. Anything else is a bug in the client, not a user error. */
export const TRANSITIONS = {
  idle: ['connecting', 'closed'],
  connecting: ['open', 'reconnecting', 'closed'],
  open: ['reconnecting', 'closed'],
  reconnecting: ['connecting', 'closed'],
  closed: ['connecting'],
} as const satisfies Record<ClientState, readonly ClientState[]>;

export type StateChange = { readonly from: ClientState; readonly to: ClientState; readonly reason: string };

/**
 * The change from `from` to `to`. The connection holds the state and runs the side effect of the
 * state entered (see `Connection.go`); this is the one check that a transition is in the table.
 * @throws Error on a transition the table does not allow: a bug in the client, not a user error.
 */
export function transition(from: ClientState, to: ClientState, reason: string): StateChange {
  if (!(TRANSITIONS[from] as readonly ClientState[]).includes(to))
    throw new Error(`surelink: invalid transition ${from} -> ${to} (${reason})`);
  return { from, to, reason };
}
