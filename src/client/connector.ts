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
import { SERVER_FRAMES, decodeFrameOf, encodeFrame } from '../protocol/codec.js';
import { PROTOCOL_VERSION, type HelloFrame, type WelcomeFrame } from '../protocol/frames.js';
import type {
  CloseInfo,
  Transport,
  TransportContext,
  TransportFactory,
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
  main: URL,
  hello: HelloFrame | undefined,
  factories: readonly TransportFactory[],
): AttemptSpec {
  // Starting with something else than WebSocket means it failed here last time.
  const avoidWebSocket =
    factories[0] !== undefined && factories[0].name !== 'websocket' && factories.some((f) => f.name === 'websocket');
  return {
    factories,
    url: (name) => o.urls[name] ?? endpointUrl(main, name),
    ctx: { clock: o.clock, logger: o.logger, WebSocket: o.WebSocket, fetch: o.fetch, SockJS: o.SockJS, avoidWebSocket },
    timeoutMs: o.connectTimeoutMs,
    hello,
  };
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
  const timer = new Timer(spec.ctx.clock);
  let transport: Transport | undefined;
  let link: Link | undefined;
  let failed = false;
  const done = new Promise<Link>((resolve, reject) => {
    const fail = (error: SurelinkError, code: number): void => {
      failed = true;
      timer.stop();
      transport?.close(code, error.message);
      reject(error);
    };
    const welcomed = (welcome: WelcomeFrame | undefined): void => {
      timer.stop();
      link = new Link(transport as Transport, welcome);
      resolve(link);
    };
    timer.start(spec.timeoutMs, () =>
      fail(
        new ConnectTimeoutError(`${factory.name}: no handshake within ${spec.timeoutMs} ms`),
        CloseCode.ConnectTimeout,
      ),
    );
    try {
      transport = factory.connect(
        spec.url(factory.name),
        {
          // A transport that misbehaves and calls back after it was closed is ignored.
          onOpen: () => {
            if (failed || link) return;
            if (spec.hello) transport?.send(encodeFrame(spec.hello));
            else welcomed(undefined);
          },
          onMessage: (text) => {
            if (link) link.receive(text);
            else if (!failed) handshakeMessage(text, factory.name, welcomed, fail);
          },
          onClose: (info) => {
            if (link) link.closed(info);
            else if (!failed) fail(errorForClose(factory.name, info), info.code);
          },
        },
        spec.ctx,
      );
    } catch (error) {
      fail(new TransportError(factory.name, String(error), CloseCode.Abnormal, { cause: error }), CloseCode.Abnormal);
    }
  });
  return {
    done,
    cancel: () => {
      failed = true;
      timer.stop();
      transport?.close(CloseCode.Normal, 'cancelled');
    },
  };
}

/** Before `welcome`, only `welcome` or `close` are valid. */
function handshakeMessage(
  text: string,
  name: TransportName,
  welcomed: (w: WelcomeFrame) => void,
  fail: (e: SurelinkError, code: number) => void,
): void {
  const frame = decodeFrameOf(SERVER_FRAMES, text);
  if (frame instanceof ProtocolError) return fail(frame, frame.closeCode);
  if (frame.type === 'close') return fail(errorForClose(name, frame), frame.code);
  if (frame.type !== 'welcome') {
    const e = new ProtocolError(`expected welcome, got ${frame.type}`);
    return fail(e, e.closeCode);
  }
  if (frame.v !== PROTOCOL_VERSION) {
    const e = new ProtocolError(
      `server speaks protocol v${frame.v}, client v${PROTOCOL_VERSION}`,
      CloseCode.UnsupportedVersion,
    );
    return fail(e, e.closeCode);
  }
  welcomed(frame);
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
