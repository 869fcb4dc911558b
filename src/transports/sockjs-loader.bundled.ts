/**
 * SockJS loader of `surelink.full.min.js`: sockjs-client is bundled in. Swapped in by
 * rollup.config.mjs (which is why this file must not import `./sockjs-loader.js`).
 */
import SockJS from 'sockjs-client';
import type { SockJSConstructor } from './transport.js';

export function loadSockJS(): Promise<SockJSConstructor> {
  return Promise.resolve(SockJS as unknown as SockJSConstructor);
}
