/**
 * One connection from accept to close (PROTOCOL.md, "Handshake"): the first frame must be a valid
 * `hello` (4400) of our version (4426); `authenticate` decides who it is (4401); the server then
 * admits it to a new or resumed session, which sends `welcome`. The whole handshake, including
 * authentication, must finish within `handshakeTimeoutMs` (4008). After that every frame goes to
 * the session. The host hears exactly once per link that its handshake ended (welcome, refusal,
 * timeout, the connection gone), so it can bound how many are under way at once.
 */
import { ProtocolError } from '../errors/protocol.js';
import { CloseCode } from '../protocol/close-codes.js';
import { CLIENT_FRAMES, decodeFrameOf } from '../protocol/codec.js';
import { PROTOCOL_VERSION } from '../protocol/frames.js';
import type { HelloFrame } from '../protocol/frames.js';
import type { Clock } from '../util/clock.js';
import { Timer } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ConnectionCallbacks, ServerConnection } from './connection.js';

/** What a connection needs from the session once it is admitted. */
export interface LinkedSession {
  receive(connection: ServerConnection, text: string): void;
  fail(error: ProtocolError, connection: ServerConnection): void;
  connectionClosed(connection: ServerConnection, code: number, reason: string): void;
}

/** The outcome of admitting a hello: the session it joined, or why it was refused. */
export type Admission<S> =
  { readonly ok: true; readonly session: S } | { readonly ok: false; readonly code: number; readonly reason: string };

export interface HandshakeHost<S extends LinkedSession> {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly handshakeTimeoutMs: number;
  readonly maxFrameBytes: number;
  /** Resolves to the identity, or `false` to refuse; may reject (treated as `false`). */
  authenticate(token: string | undefined, connection: ServerConnection): Promise<unknown>;
  /**
   * Resumes or creates the session and attaches `connection` (which sends welcome); `resumeOnly`:
   * refuses rather than create one (its client has already left).
   */
  admit(hello: HelloFrame, identity: unknown, connection: ServerConnection, resumeOnly: boolean): Admission<S>;
  /** A user hook or internal step failed unexpectedly. */
  reportError(error: unknown, context: string): void;
  /** The connection is gone (any state). */
  released(connection: ServerConnection): void;
  /** Once per link, when its handshake ends however it ends (open, refused, closed). */
  handshakeEnded(): void;
}

/**
 * Frames a client may pipeline after hello while authentication runs; together they may not be
 * longer than one message (`maxFrameBytes`), or a slow `authenticate` would let a client that is
 * not even authenticated park 128 maximum-size frames in memory per connection.
 */
const MAX_EARLY_FRAMES = 128;

type LinkState<S> =
  | { readonly name: 'hello' }
  | { readonly name: 'auth'; readonly early: string[]; chars: number; readonly resuming: boolean }
  | { readonly name: 'open'; readonly session: S }
  | { readonly name: 'closed' };

export class ConnectionLink<S extends LinkedSession> implements ConnectionCallbacks {
  readonly #connection: ServerConnection;
  readonly #host: HandshakeHost<S>;
  readonly #timer: Timer;
  #state: LinkState<S> = { name: 'hello' };
  /** Ends the wait for `authenticate` once the link closed (see `#admit`). */
  #abandon: (() => void) | undefined;
  /** Refused, and its handshake place kept until the connection is gone (see `refuse`). */
  #holdsPlace = false;
  /** The connection closed while a resume authenticated with a `close` frame held: see `onClose`. */
  #gone: readonly [code: number, reason: string] | undefined;

  constructor(connection: ServerConnection, host: HandshakeHost<S>) {
    this.#connection = connection;
    this.#host = host;
    this.#timer = new Timer(host.clock);
    this.#timer.start(host.handshakeTimeoutMs, () => this.refuse(CloseCode.HandshakeTimeout, 'handshake timeout'));
  }

  /** True until a session is attached (the server closes these itself on shutdown). */
  get handshaking(): boolean {
    return this.#state.name === 'hello' || this.#state.name === 'auth';
  }

  /**
   * Every state change goes through here, so the host hears of the handshake's end exactly once:
   * for a `refused` link, when the connection is gone.
   */
  #setState(state: LinkState<S>, refused = false): void {
    const ended = this.handshaking && state.name !== 'auth';
    this.#state = state;
    if (state.name === 'closed') this.#abandon?.();
    if (ended && refused) this.#holdsPlace = true;
    else if (ended) this.#host.handshakeEnded();
    else if (state.name === 'closed' && this.#holdsPlace) {
      this.#holdsPlace = false;
      this.#host.handshakeEnded();
    }
  }

  onMessage(text: string): void {
    const state = this.#state;
    switch (state.name) {
      case 'open':
        state.session.receive(this.#connection, text);
        return;
      case 'hello':
        this.#onHello(text);
        return;
      case 'auth':
        state.chars += text.length;
        if (state.early.length < MAX_EARLY_FRAMES && state.chars <= this.#host.maxFrameBytes) state.early.push(text);
        else this.refuse(CloseCode.ProtocolError, 'too many frames before welcome');
        return;
      case 'closed':
        return;
    }
  }

  onProtocolError(error: ProtocolError): void {
    if (this.#state.name === 'open') this.#state.session.fail(error, this.#connection);
    else this.refuse(error.closeCode, error.message);
  }

  onClose(code: number, reason: string): void {
    const state = this.#state;
    // A client closed for good during its handshake sends `close` after its hello, then closes the
    // transport (PROTOCOL.md, "Handshake"). Dropped with the link, that frame left the session the
    // hello resumes to its grace period: the handshake goes on (within its timeout) to deliver it.
    if (state.name === 'auth' && state.resuming && state.early.some((text) => this.#endsSession(text))) {
      this.#gone = [code, reason];
      return;
    }
    this.#timer.stop();
    this.#setState({ name: 'closed' });
    if (state.name === 'open') state.session.connectionClosed(this.#connection, code, reason);
    this.#host.released(this.#connection);
  }

  /** Ends a connection that has no session (yet). */
  refuse(code: number, reason: string): void {
    if (this.#state.name === 'closed') return;
    this.#host.logger.info(`surelink: refusing ${this.#connection.transport} connection: ${reason} (close ${code})`);
    // A long-polling connection keeps its close frame for a GET, which a flood of bad hellos never
    // sends: the link keeps its handshake place until the connection is gone (so `maxHandshakes`
    // bounds them), and ends it after `handshakeTimeoutMs` more, not the idle timeout (35 s).
    this.#timer.start(this.#host.handshakeTimeoutMs, () => this.#connection.terminate());
    this.#setState({ name: 'closed' }, true);
    // Nothing reads it any more (2.4 kB).
    this.#connection.request = undefined;
    this.#connection.close(code, reason);
    this.#closeGone();
  }

  /** Whether `text` is a `close` 1000: the client ended its session (no other code may take it over then). */
  #endsSession(text: string): boolean {
    const frame = decodeFrameOf(CLIENT_FRAMES, text, { maxFrameChars: this.#host.maxFrameBytes });
    return !(frame instanceof ProtocolError) && frame.type === 'close' && frame.code === CloseCode.Normal;
  }

  /** Reports the close `onClose` held back, once the handshake is over. */
  #closeGone(): void {
    const gone = this.#gone;
    this.#gone = undefined;
    if (gone) this.onClose(...gone);
  }

  #onHello(text: string): void {
    const frame = decodeFrameOf(CLIENT_FRAMES, text, { maxFrameChars: this.#host.maxFrameBytes });
    if (frame instanceof ProtocolError) return this.refuse(frame.closeCode, frame.message);
    if (frame.type !== 'hello') return this.refuse(CloseCode.ProtocolError, `expected hello, got ${frame.type}`);
    if (frame.v !== PROTOCOL_VERSION) {
      return this.refuse(
        CloseCode.UnsupportedVersion,
        `protocol version ${frame.v} is not supported (server speaks ${PROTOCOL_VERSION})`,
      );
    }
    this.#setState({ name: 'auth', early: [], chars: 0, resuming: frame.resume !== undefined });
    this.#admit(frame).catch((error: unknown) => {
      this.#host.reportError(error, 'handshake');
      this.refuse(CloseCode.InternalError, 'internal error');
    });
  }

  async #admit(hello: HelloFrame): Promise<void> {
    let identity: unknown;
    try {
      // Raced with the link's end: an `authenticate` that never settles, kept by the application
      // (a hung query), held this link, its connection and request for ever (7 kB each).
      const gone = new Promise<undefined>((resolve) => (this.#abandon = () => resolve(undefined)));
      identity = await Promise.race([this.#host.authenticate(hello.auth, this.#connection), gone]);
    } catch (error) {
      this.#host.logger.info('surelink: authenticate threw; refusing', error);
      identity = false;
    } finally {
      // Settled: the closure held `gone`, and through it the race, for the link's whole life (600 B).
      this.#abandon = undefined;
    }
    const state = this.#state;
    if (state.name !== 'auth') return; // timed out or gone while authenticating
    if (identity === false) return this.refuse(CloseCode.Unauthorized, 'unauthorized');
    const admitted = this.#host.admit(hello, identity, this.#connection, this.#gone !== undefined);
    if (!admitted.ok) return this.refuse(admitted.code, admitted.reason);
    this.#timer.stop();
    this.#connection.request = undefined; // see ServerConnection.request
    this.#setState({ name: 'open', session: admitted.session });
    for (const text of state.early) this.onMessage(text);
    this.#closeGone();
  }
}
