/**
 * Type-level pieces of the client's events: the lifecycle events every client emits, and the
 * constraint that keeps application event maps away from their names.
 */
import type { SurelinkError } from '../errors/base.js';
import type { ReservedEvent, SessionEvent } from '../protocol/frames.js';
import type { TransportName } from '../transports/transport.js';

/** Where a client is in its life; see the state machine in DESIGN.md. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A message waiting in the offline queue. */
export interface QueuedMessage {
  readonly event: string;
  readonly data: unknown;
  /** Wall-clock ms when it was queued. */
  readonly queuedAt: number;
}

/**
 * Events every client emits on the same `on()` as application events. Their names are reserved:
 * an application event map may not use them (see {@link ValidEventMap}).
 *
 * @example
 * client.on('reconnecting', ({ attempt, delayMs }) => show(`retry #${attempt} in ${delayMs} ms`));
 */
export interface LifecycleEvents {
  /** The handshake completed; `resumed` is false when the server had lost the session. */
  open: { readonly transport: TransportName; readonly resumed: boolean };
  close: { readonly code: number; readonly reason: string; readonly willReconnect: boolean };
  state: { readonly from: ClientState; readonly to: ClientState; readonly reason: string };
  reconnecting: { readonly attempt: number; readonly delayMs: number };
  error: SurelinkError;
  /** Every inbound text in `protocol: 'raw'` mode, as it came. */
  message: string;
  transport: { readonly from: TransportName | null; readonly to: TransportName };
  'queue:overflow': { readonly dropped: readonly QueuedMessage[] };
  'queue:expired': { readonly expired: readonly QueuedMessage[] };
  /**
   * Queued messages over the largest frame the server takes (`maxFrameBytes`, from its welcome),
   * taken out of the queue unsent: sending one would end the session. Their requests reject with
   * `InvalidArgumentError`, as `send()` and `request()` throw for such data once the limit is known.
   */
  'queue:oversize': { readonly oversize: readonly QueuedMessage[]; readonly maxFrameBytes: number };
}

/** Any event map: event name to payload type. The default when a client is not given one. */
export type EventMap = Record<string, unknown>;

/**
 * An event map whose keys avoid the reserved lifecycle names; a reserved key makes the
 * constraint `S extends ValidEventMap<S>` fail to compile.
 *
 * @example
 * class RealtimeClient<S extends ValidEventMap<S> = EventMap> {}
 * type Ok = RealtimeClient<{ chat: { text: string } }>;
 * // @ts-expect-error 'open' is reserved
 * type Bad = RealtimeClient<{ open: string }>;
 */
export type ValidEventMap<M> = { [K in keyof M]: K extends ReservedEvent ? never : M[K] };

/**
 * The map of events a client sends: the lifecycle names and the server session's own
 * (`disconnect`, `resume`, `end`) are refused at compile time.
 */
export type ValidSendMap<M> = { [K in keyof M]: K extends ReservedEvent | SessionEvent ? never : M[K] };

/**
 * What a client's `on()` accepts: the server's events plus the lifecycle events.
 *
 * @example
 * type Events = ClientEventsOf<{ chat: { text: string } }>; // chat, open, close, state, ...
 */
export type ClientEventsOf<S> = Omit<S, keyof LifecycleEvents> & LifecycleEvents;

/** True when A and B are the same type (not merely mutually assignable). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type AssertTrue<T extends true> = T;

/**
 * Compile-time check: this line fails to compile when `LifecycleEvents` and `RESERVED_EVENTS`
 * (which the protocol layer enforces on the wire) drift apart.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
type LifecycleNamesAreReserved = AssertTrue<Equals<keyof LifecycleEvents, ReservedEvent>>;
