/**
 * How the SockJS transport reaches sockjs-client in the ESM and CJS builds: a lazy dynamic
 * `import()`, so an app that never falls back to SockJS never downloads it. The script-tag builds
 * swap this module for `sockjs-loader.global.ts` or `sockjs-loader.bundled.ts` (rollup.config.mjs).
 */
import type { SockJSConstructor } from './transport.js';
import { TransportError } from '../errors/transport.js';

/** Picks the constructor out of a module namespace, whichever CJS interop the bundler applied. */
export function sockJSFromModule(mod: unknown): SockJSConstructor {
  const candidate = (mod as { default?: unknown } | null)?.default ?? mod;
  if (typeof candidate !== 'function') {
    throw new TransportError('sockjs', 'sockjs-client did not export a constructor');
  }
  return candidate as SockJSConstructor;
}

export async function loadSockJS(): Promise<SockJSConstructor> {
  let mod: unknown;
  try {
    mod = await import('sockjs-client');
  } catch (cause) {
    throw new TransportError('sockjs', 'could not load sockjs-client', undefined, { cause });
  }
  return sockJSFromModule(mod);
}
