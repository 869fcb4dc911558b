/**
 * How the SockJS transport reaches sockjs-client in the ESM and CJS builds: a lazy dynamic
 * `import()`, so an app that never falls back to SockJS never downloads it. It imports
 * `#sockjs-client` (package.json `imports`): for the `browser` condition (every bundler building
 * for the browser: Vite, esbuild, webpack, Rollup) that is sockjs-client's own browser script,
 * elsewhere (Node) its CommonJS entry. That entry reads Node's `global`, which esbuild and Vite do
 * not define for the browser: bundled from there, the load threw "global is not defined" and SockJS
 * never worked. A page without a bundler maps `#sockjs-client` in its import map. The script-tag
 * builds swap this module for `sockjs-loader.global.ts` or `sockjs-loader.bundled.ts`
 * (rollup.config.mjs). A failed load, or a module without a constructor, fails the attempt in the
 * transport, which wraps it in a `TransportError`.
 */
import type { SockJSConstructor } from './transport.js';

export async function loadSockJS(): Promise<SockJSConstructor> {
  // The constructor is the default export or the namespace itself, whichever CJS interop applied.
  const mod = (await import('#sockjs-client')) as { default?: SockJSConstructor };
  return mod.default ?? (mod as unknown as SockJSConstructor);
}
