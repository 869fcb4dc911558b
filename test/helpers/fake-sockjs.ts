/**
 * A scripted stand-in for sockjs-client's constructor (pass it as `SockJS`). It behaves like the
 * real one where adapters can get it wrong: events name their `type` and are dispatched
 * asynchronously after close(), and close() throws for codes other than 1000 and 3000-4999, long
 * reasons and a second call.
 */
import type { SockJSLike } from '../../src/transports/transport.js';

export interface FakeCloseEvent {
  type: 'close';
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Every instance is recorded in `FakeSockJS.instances`; tests drive it with open/receive/drop. */
export class FakeSockJS implements SockJSLike {
  static instances: FakeSockJS[] = [];
  readyState = 0;
  /** sockjs-client's name of the sub-transport that opened; set by `open(transport)`. */
  transport: string | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  readonly sent: string[] = [];
  readonly closeCalls: [number | undefined, string | undefined][] = [];
  readonly url: string;
  readonly options: Record<string, unknown> | undefined;

  constructor(url: string, _reserved?: unknown, options?: Record<string, unknown>) {
    this.url = url;
    this.options = options;
    FakeSockJS.instances.push(this);
  }

  send(data: string): void {
    if (this.readyState === 0) throw new Error('InvalidStateError: The connection has not been established yet');
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    if (code && code !== 1000 && (code < 3000 || code > 4999)) throw new Error('InvalidAccessError: Invalid code');
    if (reason && reason.length > 123) throw new SyntaxError('reason argument has an invalid length');
    if (this.readyState === 3) throw new Error('InvalidStateError: SockJS has already been closed');
    this.closeCalls.push([code, reason]);
    this.readyState = 3;
    const ev: FakeCloseEvent = {
      type: 'close',
      code: code ?? 1000,
      reason: reason ?? 'Normal closure',
      wasClean: true,
    };
    setTimeout(() => this.onclose?.(ev), 0);
  }

  /** Test driver: the server opened the session, over the sub-transport `transport` when given. */
  open(transport?: string): void {
    this.readyState = 1;
    if (transport) this.transport = transport;
    this.onopen?.({ type: 'open' });
  }

  receive(data: unknown): void {
    this.onmessage?.({ type: 'message', data } as { data: unknown });
  }

  /** Test driver: sockjs-client reports a close (a server close frame when `wasClean`). */
  drop(code: number, reason: string, wasClean: boolean): void {
    this.readyState = 3;
    const ev: FakeCloseEvent = { type: 'close', code, reason, wasClean };
    this.onclose?.(ev);
  }
}
