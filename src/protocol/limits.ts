/**
 * The numbers the protocol and the client's timers are bounded by, alone in a module that imports
 * nothing: the build gives it, with the close codes, a chunk whose constants an app's bundler
 * inlines (rollup.config.mjs). The modules they belong to re-export them.
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
