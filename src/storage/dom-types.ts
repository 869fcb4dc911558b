/**
 * DOM's `Storage` and `IDBFactory`, reached through the globals that hold them, so the published
 * declarations name neither: a Node project whose `lib` leaves out "dom" (skipLibCheck off) could
 * not compile dist/index.d.ts ("Cannot find name 'IDBFactory'", and 'Storage' with @types/node
 * before 22). Where those globals are declared, these are exactly DOM's types; where not, `never`:
 * that environment has no such store to pass.
 */
export type WebStorage = typeof globalThis extends { localStorage: infer S } ? S : never;
export type IndexedDBFactory = typeof globalThis extends { indexedDB: infer F } ? F : never;
