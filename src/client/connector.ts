/**
 * One connect attempt: each transport in order, time-boxed, through the hello/welcome handshake; a `Link` only once
 * the connection is really usable. When every transport fails, one error lists each failure (SignalR's approach).
 */
import { AuthError } from '../errors/auth.js';
import type { SurelinkError } from '../errors/base.js';
import { ConnectTimeoutError } from '../errors/connect-timeout.js';
import { ProtocolError } from '../errors/protocol.js';
import { FallbackError, TransportError, asTransportError } from '../errors/transport.js';
import {
  ABNORMAL,
  CONNECT_TIMEOUT,
  FORBIDDEN,
  isRetryable,
  NORMAL,
  PROTOCOL_ERROR,
  UNAUTHORIZED,
  UNSUPPORTED_VERSION,
} from '../protocol/close-codes.js';
import { SERVER_FRAMES, decodeFrameOf, encodeClose, encodeControl } from '../protocol/codec.js';
import { PROTOCOL_VERSION, type CloseFrame, type HelloFrame, type WelcomeFrame } from '../protocol/frames.js';
import type {
  CloseInfo,
  Transport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportName,
} from '../transports/transport.js';
import { longpollTransport } from '../transports/longpoll.js';
import { Timer } from '../util/clock.js';
import { endpointUrl } from '../transports/urls.js';
import { connectTime } from './connect-time.js';
import { Link, shut } from './link.js';
import type { ResolvedOptions } from './options.js';

export interface Attempt {
  readonly done: Promise<Link>;
  /** The hello went out on a transport tried (any): the server may have seen it (and taken the session over). */
  readonly sent: boolean | undefined;
  /** Once `done` resolved, what the next attempts get: twice what this handshake took (see `patience`). */
  readonly patience: number;
  /**
   * Abandons the attempt (what `done` does afterwards is moot). `farewell` (a close frame) goes first where the hello
   * went out, else the server keeps the session it made or took over for it for its grace period.
   */
  cancel(farewell?: string): void;
}

/** Whether a failure should stop the fallback and the reconnection loop. */
export function isFatal(error: SurelinkError): boolean {
  const code = (error as { closeCode?: unknown }).closeCode;
  return typeof code === 'number' && !isRetryable(code);
}

/** Makes the first frame of an attempt (the connection). */
export interface HelloMaker {
  /** The hello carrying `auth`; `undefined` in raw mode, where the transport opening is the handshake. */
  hello(auth: string | undefined): Promise<HelloFrame | undefined>;
}

/**
 * An attempt with the client's options on `factories`, in order, each given `ms` (see `patience`). It starts by running
 * `options.auth` and making the hello with it; a failure there is an `AuthError`, and none in `ms` (a token fetched
 * over the same slow link) a `ConnectTimeoutError`.
 */
export function startAttempt(
  o: ResolvedOptions,
  main: string,
  maker: HelloMaker,
  factories: readonly TransportFactory[],
  ms: number,
): Attempt {
  // Starting with something else than WebSocket means it failed here last time.
  let avoidWebSocket = factories[0]?.name !== 'websocket' && factories.some((f) => f.name === 'websocket');
  let current: Handshake | undefined;
  let waiting: Waiting | undefined;
  let sent: boolean | undefined; // a hello went out on a transport that failed: the next may fail before its own
  let cancelled = false;
  // The app's auth function and session store may never settle: they get a transport's time; then
  // each transport's handshake, one at a time, is bounded by the same timer.
  const timer = new Timer(o.clock);
  const run = async (): Promise<Link> => {
    const errors: SurelinkError[] = [];
    const first = await new Promise<HelloFrame | undefined>((resolve, reject) => {
      timer.start(ms, () => reject(new ConnectTimeoutError(`no auth token or stored session in ${ms} ms`)));
      (async () => {
        const token: unknown = await (typeof o.auth === 'function' ? o.auth() : o.auth);
        // Else the server would refuse the hello as malformed: a protocol error that hides the cause.
        if (token !== undefined && typeof token !== 'string') throw new TypeError('options.auth must return a string');
        return maker.hello(token);
      })().then(resolve, (cause: unknown) => reject(new AuthError('options.auth failed', undefined, { cause })));
    }).finally(() => timer.stop());
    for (const factory of factories) {
      if (cancelled) throw new Error('cancelled');
      const { name } = factory;
      const ctx: TransportContext = {
        clock: o.clock,
        logger: o.logger,
        WebSocket: o.WebSocket,
        fetch: o.fetch,
        SockJS: o.SockJS,
        avoidWebSocket,
      };
      let supported: true | string;
      try {
        // The built-in one speaks surelink's own HTTP wire, which a raw server does not: a 403 from
        // its web server would stop the client for good (AuthError) when WebSocket is briefly down.
        supported =
          o.protocol === 'raw' && factory === longpollTransport
            ? 'longpoll needs the surelink protocol'
            : factory.isSupported(ctx);
      } catch (error) {
        supported = String(error); // a broken custom transport is one that failed, not the end of the fallback
      }
      if (supported !== true) {
        errors.push(new TransportError(name, supported));
        continue;
      }
      try {
        return await new Promise<Link>((resolve, reject) => {
          const url = endpointUrl(main, name, o.urls[name]);
          // The socket keeps its URL: when it is the main one, one copy is enough.
          current = new Handshake(
            (waiting = { hello: first, resolve, reject, at: o.clock.now(), timer, name }),
            factory,
            url === main ? main : url,
            ctx,
            ms,
          );
        });
      } catch (error) {
        const e = error as SurelinkError;
        sent ||= waiting?.sent;
        if (cancelled || isFatal(e)) throw e;
        o.logger.debug(`surelink: ${name} failed`, e);
        errors.push(e);
        avoidWebSocket ||= name === 'websocket';
      }
    }
    throw errors.length === 1 ? (errors[0] as SurelinkError) : new FallbackError(errors);
  };
  return {
    done: run(),
    get sent() {
      return sent || waiting?.sent;
    },
    get patience() {
      return connectTime(o.connectTimeoutMs, 2 * (o.clock.now() - (waiting?.at as number)));
    },
    cancel: (farewell) => {
      cancelled = true;
      timer.stop();
      current?.cancel(farewell);
    },
  };
}

/** What a handshake needs until it settles; dropped then, so an open link keeps none of it. */
interface Waiting {
  readonly hello: HelloFrame | undefined;
  readonly resolve: (link: Link) => void;
  readonly reject: (error: SurelinkError) => void;
  readonly at: number; // when this transport's attempt started
  readonly timer: Timer;
  readonly name: TransportName;
  transport?: Transport;
  /** The hello went out. */
  sent?: boolean;
}

/**
 * The handlers of one transport: the hello/welcome exchange, then every frame forwarded to the link. Prototype methods,
 * not closures: this object lives as long as the connection does, and holds one field (what it waits with, then the
 * link).
 */
class Handshake implements TransportHandlers {
  #now: Waiting | Link | undefined;

  /** Opens `factory`'s transport; the handshake fails unless it completes within `timeoutMs`. */
  constructor(w: Waiting, factory: TransportFactory, url: string, ctx: TransportContext, timeoutMs: number) {
    this.#now = w;
    const { name } = w;
    w.timer.start(timeoutMs, () =>
      this.#fail(new ConnectTimeoutError(`${name}: no handshake within ${timeoutMs} ms`), CONNECT_TIMEOUT),
    );
    try {
      w.transport = factory.connect(url, this, ctx);
    } catch (error) {
      this.#fail(asTransportError(name, error)); // 1006, abnormal
    }
  }

  cancel(farewell?: string): void {
    this.#say(farewell);
    this.#end(NORMAL, 'cancelled');
  }

  /** Writes a last frame on the transport, if the hello went out on it. */
  #say(farewell: string | undefined): void {
    const now = this.#now;
    const said = now instanceof Link || now?.sent ? now.transport : undefined;
    try {
      if (farewell) said?.send(farewell);
    } catch {
      // The transport is going anyway.
    }
  }

  // A transport that misbehaves and calls back after it was closed is ignored.
  onOpen(): void {
    const w = this.#now;
    if (w instanceof Link) return;
    if (!w?.hello) return w && this.#welcomed(w, undefined);
    try {
      w.transport?.send(encodeControl(w.hello));
      w.sent = true;
    } catch (error) {
      this.#fail(asTransportError(w.name, error, 'send failed')); // as Link's writes (1006)
    }
  }

  onMessage(text: string): void {
    const now = this.#now;
    if (now instanceof Link) return now.receive(text);
    if (!now) return;
    const reply = handshakeReply(text);
    // Refused input gets a close frame saying why, as after the handshake (PROTOCOL.md, "Bad input");
    // a server's own close frame gets none.
    if (reply instanceof ProtocolError) {
      this.#say(encodeClose(reply.closeCode, reply.message));
      this.#fail(reply);
    } else if (reply.type === 'close') this.#fail(errorForClose(now.name, reply));
    else this.#welcomed(now, reply);
  }

  onClose(info: CloseInfo): void {
    const now = this.#now;
    if (now instanceof Link) now.closed(info);
    else if (now) this.#fail(errorForClose(now.name, info, true));
  }

  #welcomed(w: Waiting, welcome: WelcomeFrame | undefined): void {
    w.timer.stop();
    w.resolve((this.#now = new Link(w.transport as Transport, welcome)));
  }

  /** Ends the handshake with `error`, closing the transport with `code` (by default the error's own). */
  #fail(error: SurelinkError, code = (error as { closeCode?: number }).closeCode ?? PROTOCOL_ERROR): void {
    if (!(this.#now instanceof Link)) this.#end(code, error.message)?.reject(error);
  }

  /** Lets go of the transport (closed with `code`) and what it waited with, which it returns. */
  #end(code: number, reason: string): Waiting | undefined {
    const now = this.#now;
    this.#now = undefined;
    shut(now?.transport, code, reason);
    if (now instanceof Link) return undefined;
    now?.timer.stop();
    return now;
  }
}

/** Before `welcome`, only `welcome` or `close` are valid: either, or why we refuse the reply. */
function handshakeReply(text: string): WelcomeFrame | CloseFrame | ProtocolError {
  const frame = decodeFrameOf(SERVER_FRAMES, text);
  if (frame instanceof ProtocolError || frame.type === 'close') return frame;
  if (frame.type !== 'welcome') return new ProtocolError(`expected welcome, got ${frame.type}`);
  if (frame.v !== PROTOCOL_VERSION) {
    return new ProtocolError(`server speaks protocol v${frame.v}, client v${PROTOCOL_VERSION}`, UNSUPPORTED_VERSION);
  }
  return frame;
}

/**
 * Maps a close (frame or transport) to the error users see. A transport's 1000 (`transport`) came without a close
 * frame: a proxy or a restart ended the connection, not the session, so it maps to 1006, retried like any drop
 * (PROTOCOL.md, "Closing and close codes").
 */
export function errorForClose(
  name: TransportName,
  info: Pick<CloseInfo, 'code' | 'reason'> & { error?: Error },
  transport?: boolean,
): SurelinkError {
  const reason = info.reason || `closed with code ${info.code}`;
  if (info.code === UNAUTHORIZED || info.code === FORBIDDEN) return new AuthError(reason, info.code);
  if (info.code === UNSUPPORTED_VERSION || info.code === PROTOCOL_ERROR) {
    return new ProtocolError(reason, info.code);
  }
  const code = transport && info.code === NORMAL ? ABNORMAL : info.code;
  return new TransportError(name, `${name}: ${reason}`, code, info.error ? { cause: info.error } : undefined);
}
