/**
 * A Web Storage over `entries`, for code that takes a `Storage` where Node has no localStorage (or
 * where several pages share one). `writable()` says whether writes land: a dead page writes nothing.
 */
export function memoryStorage(entries: Map<string, string>, writable: () => boolean = () => true): Storage {
  return {
    get length() {
      return entries.size;
    },
    key: (i) => [...entries.keys()][i] ?? null,
    getItem: (k) => entries.get(k) ?? null,
    setItem: (k, v) => void (writable() && entries.set(k, String(v))),
    removeItem: (k) => void (writable() && entries.delete(k)),
    clear: () => void (writable() && entries.clear()),
  };
}
