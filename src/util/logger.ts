/** Where the client writes diagnostics. Silent by default; pass `console` to see everything. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** Does nothing: the silent logger's every level, a handler slot left harmless. */
export const nothing = (): void => {};

const levels = ['debug', 'info', 'warn', 'error'] as const;

/** A logger with `method(level)` at each level. */
const loggerOf = (method: (level: keyof Logger) => Logger[keyof Logger]): Logger =>
  Object.fromEntries(levels.map((level) => [level, method(level)])) as unknown as Logger;

export const silentLogger: Logger = loggerOf(() => nothing);

/**
 * `logger`, unable to throw. It is called from timers, socket callbacks and state transitions,
 * where an application logger's throw would escape or leave a step half done.
 */
export function guarded(logger: Logger): Logger {
  return loggerOf((level) => (message: string, ...details: unknown[]): void => {
    try {
      logger[level](message, ...details);
    } catch {
      // Nowhere left to report it.
    }
  });
}
