/**
 * `ping()` calls waiting for their pong: a pong answers every ping sent with its timestamp. They
 * wait as requests do (a timeout, rejected all at once on close), so they share that table's
 * code, in a table of their own: `wait` and `pong` of `PendingRequests`.
 */
export { PendingRequests as PingWaiters } from './requests.js';
