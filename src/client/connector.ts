/**
 * One connect attempt: try each transport in order, time-box each, run the hello/welcome
 * handshake, and hand back a `Link` only once the connection is really usable. When every
 * transport fails the attempt rejects with one error listing each failure (SignalR's approach).
 */
import { AuthError } from '../errors/auth.js';
import type { SurelinkError } from '../errors/base.js';
import { ConnectTimeoutError } from '../errors/connect-timeout.js';
import { ProtocolError } from '../errors/protocol.js';
import { FallbackError, TransportError } from '../errors/transport.js';
import { CloseCode, isRetryable } from '../protocol/close-codes.js';
import { decodeFrame, encodeFrame } from '../protocol/codec.js';
import { PROTOCOL_VERSION, type HelloFrame, type WelcomeFrame } from '../protocol/frames.js';
import type {
  CloseInfo,
  Transport,
  TransportContext,
  TransportFactory,
  TransportHandlers,
  TransportName,
} from '../transports/transport.js';
import { Timer } from '../util/clock.js';
import { endpointUrl } from '../transports/urls.js';
import { Link } from './link.js';
import type { ResolvedOptions } from './options.js';

export interface AttemptSpec {
  readonly factories: readonly TransportFactory[];
  url(name: TransportName): string;
  readonly ctx: TransportContext;
  readonly timeoutMs: number;
  /** The hello to send; `undefined` in raw mode, where the transport opening is the handshake. */
  readonly hello: HelloFrame | undefined;
}

export interface Attempt {
  readonly done: Promise<Link>;
  /** Abandons the attempt: closes whatever is opening; `done` then never settles. */
  cancel(): void;
}

/** Whether a failure should stop the fallback and the reconnection loop. */
export function isFatal(error: SurelinkError): boolean {
  const code = (error as { closeCode?: unknown }).closeCode;
  return typeof code === 'number' && !isRetryable(code);
}

/** The attempt a client makes with its options, for the given transports in order. */
export function attemptSpec(
  o: ResolvedOptions,
  main: string,
  hello: HelloFrame | undefined,
  factories: readonly TransportFactory[],
): AttemptSpec {
  // Starting with something else than WebSocket means it failed here last time.
  const avoidWebSocket =
    factories[0] !== undefined && factories[0].name !== 'websocket' && factories.some((f) => f.name === 'websocket');
  return {
    factories,
    url: (name) => o.urls[name] ?? sameOr(main, endpointUrl(new URL(main), name)),
    ctx: { clock: o.clock, logger: o.logger, WebSocket: o.WebSocket, fetch: o.fetch, SockJS: o.SockJS, avoidWebSocket },
    timeoutMs: o.connectTimeoutMs,
    hello,
  };
}

/** `url`, as `main` when they are equal: the socket keeps its URL, and one copy is enough. */
function sameOr(main: string, url: string): string {
  return url === main ? main : url;
}

export function startAttempt(spec: AttemptSpec): Attempt {
  let cancelOne: (() => void) | undefined;
  let cancelled = false;
  const run = async (): Promise<Link> => {
    const errors: SurelinkError[] = [];
    const failed = new Set<TransportName>();
    for (const factory of spec.factories) {
      const supported = factory.isSupported(spec.ctx);
      if (supported !== true) {
        errors.push(new TransportError(factory.name, supported));
        continue;
      }
      try {
        const avoidWebSocket = spec.ctx.avoidWebSocket === true || failed.has('websocket');
        const one = tryTransport(factory, { ...spec, ctx: { ...spec.ctx, avoidWebSocket } });
        cancelOne = one.cancel;
        return await one.done;
      } catch (error) {
        const e = error as SurelinkError;
        if (cancelled || isFatal(e)) throw e;
        spec.ctx.logger.debug(`surelink: ${factory.name} failed`, e);
        errors.push(e);
        failed.add(factory.name);
      }
    }
    throw errors.length === 1 ? (errors[0] as SurelinkError) : new FallbackError(errors);
  };
  return {
    done: run(),
    cancel: () => {
      cancelled = true;
      cancelOne?.();
    },
  };
}

function tryTransport(factory: TransportFactory, spec: AttemptSpec): { done: Promise<Link>; cancel(): void } {
  let handshake: Handshake | undefined;
  const done = new Promise<Link>((resolve, reject) => {
    handshake = new Handshake(factory.name, spec, resolve, reject);
  });
  (handshake as Handshake).connect(factory, spec);
  return { done, cancel: () => handshake?.cancel() };
}

/** What a handshake needs until it settles; dropped then, so an open link keeps none of it. */
interface Waiting {
  readonly name: TransportName;
  readonly hello: HelloFrame | undefined;
  readonly timer: Timer;
  transport: Transport | undefined;
  resolve(link: Link): void;
  reject(error: SurelinkError): void;
}

/**
 * The handlers of one transport: the hello/welcome exchange, then every frame forwarded to the
 * link. Prototype methods, not closures: this object lives as long as the connection does, and
 * holds one field (what it waits with, then the link).
 */
class Handshake implements TransportHandlers {
  #now: Waiting | Link | undefined;

  constructor(
    name: TransportName,
    spec: AttemptSpec,
    resolve: (link: Link) => void,
    reject: (error: SurelinkError) => void,
  ) {
    const timer = new Timer(spec.ctx.clock);
    this.#now = { name, hello: spec.hello, timer, transport: undefined, resolve, reject };
  }

  connect(factory: TransportFactory, spec: AttemptSpec): void {
    const { timeoutMs } = spec;
    const w = this.#now as Waiting;
    w.timer.start(timeoutMs, () =>
      this.#fail(
        new ConnectTimeoutError(`${factory.name}: no handshake within ${timeoutMs} ms`),
        CloseCode.ConnectTimeout,
      ),
    );
    try {
      w.transport = factory.connect(spec.url(factory.name), this, spec.ctx);
    } catch (error) {
      this.#fail(
        new TransportError(factory.name, String(error), CloseCode.Abnormal, { cause: error }),
        CloseCode.Abnormal,
      );
    }
  }

  cancel(): void {
    const now = this.#now;
    this.#now = undefined;
    if (now instanceof Link) return now.transport.close(CloseCode.Normal, 'cancelled');
    now?.timer.stop();
    now?.transport?.close(CloseCode.Normal, 'cancelled');
  }

  // A transport that misbehaves and calls back after it was closed is ignored.
  onOpen(): void {
    const w = this.#waiting();
    if (!w) return;
    if (w.hello) w.transport?.send(encodeFrame(w.hello));
    else this.#welcomed(w, undefined);
  }

  onMessage(text: string): void {
    const now = this.#now;
    if (now instanceof Link) return now.receive(text);
    if (!now) return;
    const welcome = handshakeReply(text, now.name);
    if (welcome instanceof Error) this.#fail(welcome, closeCodeOf(welcome));
    else this.#welcomed(now, welcome);
  }

  onClose(info: CloseInfo): void {
    const now = this.#now;
    if (now instanceof Link) now.closed(info);
    else if (now) this.#fail(errorForClose(now.name, info), info.code);
  }

  #waiting(): Waiting | undefined {
    const now = this.#now;
    return now instanceof Link ? undefined : now;
  }

  #welcomed(w: Waiting, welcome: WelcomeFrame | undefined): void {
    w.timer.stop();
    const link = (this.#now = new Link(w.transport as Transport, welcome));
    w.resolve(link);
  }

  #fail(error: SurelinkError, code: number): void {
    const w = this.#waiting();
    if (!w) return;
    this.#now = undefined;
    w.timer.stop();
    w.transport?.close(code, error.message);
    w.reject(error);
  }
}

function closeCodeOf(error: SurelinkError): number {
  return (error as { closeCode?: number }).closeCode ?? CloseCode.ProtocolError;
}

/** Before `welcome`, only `welcome` or `close` are valid: the welcome, or why the attempt failed. */
function handshakeReply(text: string, name: TransportName): WelcomeFrame | SurelinkError {
  const frame = decodeFrame(text);
  if (frame instanceof ProtocolError) return frame;
  if (frame.type === 'close') return errorForClose(name, frame);
  if (frame.type !== 'welcome') return new ProtocolError(`expected welcome, got ${frame.type}`);
  if (frame.v !== PROTOCOL_VERSION) {
    return new ProtocolError(
      `server speaks protocol v${frame.v}, client v${PROTOCOL_VERSION}`,
      CloseCode.UnsupportedVersion,
    );
  }
  return frame;
}

/** Maps a close (frame or transport) to the error users see. */
export function errorForClose(
  name: TransportName,
  info: Pick<CloseInfo, 'code' | 'reason'> & { error?: Error },
): SurelinkError {
  const reason = info.reason || `closed with code ${info.code}`;
  if (info.code === CloseCode.Unauthorized || info.code === CloseCode.Forbidden)
    return new AuthError(reason, info.code);
  if (info.code === CloseCode.UnsupportedVersion || info.code === CloseCode.ProtocolError) {
    return new ProtocolError(reason, info.code);
  }
  return new TransportError(name, `${name}: ${reason}`, info.code, info.error ? { cause: info.error } : undefined);
}
