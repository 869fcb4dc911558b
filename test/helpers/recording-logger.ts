import { inspect } from 'node:util';
import type { Logger } from '../../src/util/logger.js';

/** Everything a logger was given, as text (errors with their stack and causes, objects in depth). */
export function recordingLogger(lines: string[]): Logger {
  const record =
    (level: string) =>
    (message: string, ...details: unknown[]) =>
      void lines.push(
        `${level} ${message} ${details.map((d) => inspect(d, { depth: 8, showHidden: true })).join(' ')}`,
      );
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}
