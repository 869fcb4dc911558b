/**
 * SockJS loader of `surelink.min.js`: uses the `SockJS` global that sockjs-client's own
 * `<script>` defines, so the script-tag bundle stays small. Swapped in by rollup.config.mjs.
 */
import type { SockJSConstructor } from './transport.js';
import { TransportError } from '../errors/transport.js';

export function loadSockJS(): Promise<SockJSConstructor> {
  const SockJS = (globalThis as { SockJS?: unknown }).SockJS;
  if (typeof SockJS !== 'function') {
    return Promise.reject(
      new TransportError('sockjs', "SockJS is not loaded: add sockjs-client's <script> or use surelink.full.min.js"),
    );
  }
  return Promise.resolve(SockJS as SockJSConstructor);
}
