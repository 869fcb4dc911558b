/**
 * The numbers the protocol, the transports and the client's timers are bounded by, alone in a
 * module that imports nothing: the build gives it, with the close codes, a chunk whose constants an
 * app's bundler inlines (rollup.config.mjs). The modules that define the public ones re-export them.
 */

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** 1 MiB of text: the largest frame a client accepts or sends. A plain number, so bundlers inline it. */
export const MAX_FRAME_CHARS = 1_048_576;

/** Longest event or request name: a peer refuses a frame with a longer one (4400). */
export const MAX_NAME_CHARS = 256;

/**
 * Most UTF-16 code units a batch gathers from several frames. At 3 UTF-8 bytes per unit at most
 * this stays below 192 KiB, well under the server's default limit (1 MiB). A single larger frame
 * still goes, alone.
 */
export const MAX_BATCH_CHARS = 65_536;

/** Longest delay a timer takes (browsers run a longer `setTimeout` at once). */
export const MAX_DELAY_MS = 2_147_483_647;

/** Longest close reason: 123 UTF-8 bytes, as in a WebSocket close frame. */
export const MAX_REASON_BYTES = 123;

/** Deliveries that make an ack go out at once (the reference implementation's, PROTOCOL.md). */
export const ACK_EVERY_FRAMES = 64;
/** Longest an owed ack waits for more deliveries. */
export const ACK_DELAY_MS = 50;

/**
 * How long a connection closed by the client may still wait for the server to take its goodbye
 * (a close handshake, long polling's last POST and DELETE, SockJS's last send). A server that
 * never answers (frozen, cut off) would otherwise hold the socket, and a Node process with it:
 * `ws` for 30 s, undici's fetch for 5 minutes a request. A timer that never keeps Node alive by itself: `unref`ed there.
 */
export const CLOSE_WAIT_MS = 1000;

/** Browsers cap the bodies of all `keepalive` requests in flight at 64 KiB together. */
export const KEEPALIVE_MAX_CHARS = 16_384;
