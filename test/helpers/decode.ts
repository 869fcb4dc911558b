import { ProtocolError } from '../../src/errors/protocol.js';
import { decodeFrames } from '../../src/protocol/codec.js';
import type { DecodeLimits, FrameDecoders } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/frames.js';

/** `decodeFrames` with a lone frame in an array too: what tests compare against lists of frames. */
export function decodeMessage(decoders: FrameDecoders, text: unknown, limits?: DecodeLimits): Frame[] | ProtocolError {
  const decoded = decodeFrames(decoders, text, limits);
  return decoded instanceof ProtocolError || Array.isArray(decoded) ? decoded : [decoded];
}
