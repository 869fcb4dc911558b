/**
 * SockJS loader of `surelink.min.js`, which leaves sockjs-client out to stay small: the transport
 * takes the `SockJS` global that sockjs-client's own `<script>` defines, and asks this loader only
 * when there is none. Swapped in by rollup.config.mjs.
 */
import type { SockJSConstructor } from './transport.js';
import { TransportError } from '../errors/transport.js';

export function loadSockJS(): Promise<SockJSConstructor> {
  return Promise.reject(
    new TransportError('sockjs', "SockJS is not loaded: add sockjs-client's <script> or use surelink.full.min.js"),
  );
}
