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
 * Holds the current state and runs the side effect of the state being entered. `onChange` is the
 * one place a `state` event comes from; `enter` runs after it so listeners see the new state first.
 */
export class StateMachine {
  #state: ClientState = 'idle';
  readonly #onChange: (change: StateChange) => void;
  readonly #enter: { readonly [S in ClientState]: (change: StateChange) => void };

  constructor(
    onChange: (change: StateChange) => void,
    enter: { readonly [S in ClientState]: (change: StateChange) => void },
  ) {
    this.#onChange = onChange;
    this.#enter = enter;
  }

  get state(): ClientState {
    return this.#state;
  }

  can(to: ClientState): boolean {
    return (TRANSITIONS[this.#state] as readonly ClientState[]).includes(to);
  }

  go(to: ClientState, reason: string): void {
    if (!this.can(to)) throw new Error(`surelink: invalid transition ${this.#state} -> ${to} (${reason})`);
    const change = { from: this.#state, to, reason };
    this.#state = to;
    this.#onChange(change);
    this.#enter[to](change);
  }
}
