/**
 * How the SockJS transport reaches sockjs-client in the ESM and CJS builds: a lazy dynamic
 * `import()`, so an app that never falls back to SockJS never downloads it. The script-tag builds
 * swap this module for `sockjs-loader.global.ts` or `sockjs-loader.bundled.ts` (rollup.config.mjs).
 * A failed load, or a module without a constructor, fails the attempt in the transport, which
 * wraps it in a `TransportError`.
 */
import type { SockJSConstructor } from './transport.js';

export async function loadSockJS(): Promise<SockJSConstructor> {
  // The constructor is the default export or the namespace itself, whichever CJS interop applied.
  const mod = (await import('sockjs-client')) as { default?: SockJSConstructor };
  return mod.default ?? (mod as unknown as SockJSConstructor);
}
