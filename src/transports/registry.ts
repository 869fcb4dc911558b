import { InvalidArgumentError, withMethods } from '../errors/invalid-argument.js';
import type { TransportFactory, TransportName } from './transport.js';
import { longpollTransport } from './longpoll.js';
import { sockjsTransport } from './sockjs.js';
import { websocketTransport } from './websocket.js';

const builtIn: Partial<Record<TransportName, TransportFactory>> = {
  websocket: websocketTransport,
  sockjs: sockjsTransport,
  longpoll: longpollTransport,
};

/** Turns the `transports` option (names or factories) into factories, in order. */
export function resolveTransports(list: readonly (TransportName | TransportFactory)[]): TransportFactory[] {
  return list.map((entry) => {
    // Else accepted, to fail every attempt with a TypeError (or, for null, an unhandled rejection).
    if (typeof entry !== 'string') return withMethods('a transport factory', entry, ['isSupported', 'connect']);
    // Own names only: `toString` or `__proto__` is no transport (Object.prototype's members).
    const factory = Object.hasOwn(builtIn, entry) ? builtIn[entry] : undefined;
    if (!factory) throw new InvalidArgumentError(`unknown transport '${entry}'`);
    return factory;
  });
}
