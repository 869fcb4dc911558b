/**
 * What a session does with each decoded inbound frame (PROTOCOL.md, "Sequence numbers and acks"):
 * events and requests are delivered once and in order, duplicates are dropped but acknowledged
 * again, gaps and out-of-place frames are protocol errors.
 */
import { encodeFrame } from '../protocol/codec.js';
import type { CloseFrame, EventFrame, Frame, RequestFrame } from '../protocol/frames.js';
import type { AckScheduler, Inbox, Outbox } from '../protocol/sequence.js';
import type { RequestOutcome } from './requests.js';
import { isAllowedClientEvent } from './event-names.js';

/** The parts of a session the inbound path touches. */
export interface InboundContext {
  readonly inbox: Inbox;
  readonly outbox: Outbox;
  readonly acks: AckScheduler;
  isEnded(): boolean;
  /** Protocol violation (close 4400, session ends). */
  fail(message: string): void;
  /** Delivers a client event to the session's listeners. */
  emit(event: string, data: unknown): void;
  /** Sends an unsequenced frame on the current connection. */
  sendRaw(text: string): void;
  peerClosed(code: number, reason: string): void;
  /** Runs the handler of a request admitted by `refuseRequest`; never rejects. */
  runRequest(name: string, data: unknown): Promise<RequestOutcome>;
  /** Why request `name` may not run now (too many running, rate used up), else `undefined`. */
  refuseRequest(name: string): RequestOutcome | undefined;
  respond(id: number, outcome: RequestOutcome): void;
  /** An unexpected internal failure; logged and emitted, never thrown. */
  reportError(error: unknown, context: string): void;
}

export function handleFrame(ctx: InboundContext, frame: Frame): void {
  switch (frame.type) {
    case 'event':
      return onEvent(ctx, frame);
    case 'request':
      return onRequest(ctx, frame);
    case 'ack':
      if (!ctx.outbox.ack(frame.ack))
        ctx.fail(`ack ${frame.ack} is beyond the last frame sent (${ctx.outbox.lastSeq})`);
      return;
    case 'ping':
      ctx.sendRaw(encodeFrame({ type: 'pong', ts: frame.ts }));
      return;
    case 'pong':
      return; // liveness was recorded on arrival
    case 'close':
      return onClose(ctx, frame);
    default:
      ctx.fail(`unexpected ${frame.type} frame from a client`);
  }
}

function onEvent(ctx: InboundContext, frame: EventFrame): void {
  if (!isAllowedClientEvent(frame.event)) {
    ctx.fail(`"${frame.event}" is a reserved event name`);
    return;
  }
  if (!accept(ctx, frame.seq)) return;
  ctx.emit(frame.event, frame.data);
  if (!ctx.isEnded()) ctx.acks.delivered();
}

function onRequest(ctx: InboundContext, frame: RequestFrame): void {
  // A request re-sent after a resume has a seq we already delivered: it is not run again; its
  // response is still in the outbox and was replayed after welcome.
  if (!accept(ctx, frame.seq)) return;
  ctx.acks.delivered();
  // Refused, not dropped: it is delivered (so a resend is a duplicate) and answered at once.
  const refusal = ctx.refuseRequest(frame.event);
  if (refusal) return ctx.respond(frame.id, refusal);
  ctx
    .runRequest(frame.event, frame.data)
    .then((outcome) => ctx.respond(frame.id, outcome))
    .catch((error: unknown) => ctx.reportError(error, `responding to request "${frame.event}"`));
}

/** True when `seq` is new; a duplicate is dropped but acknowledged again, a gap is fatal. */
function accept(ctx: InboundContext, seq: number): boolean {
  const verdict = ctx.inbox.accept(seq);
  if (verdict === 'deliver') return true;
  if (verdict === 'duplicate') {
    // The peer re-sent it, so it has not seen an ack covering it: owe one again.
    ctx.acks.reset(seq - 1);
    ctx.acks.delivered();
    return false;
  }
  ctx.fail(`sequence gap: got ${seq} after ${ctx.inbox.delivered}`);
  return false;
}

function onClose(ctx: InboundContext, frame: CloseFrame): void {
  ctx.peerClosed(frame.code, frame.reason);
}
