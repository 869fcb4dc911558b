import { afterEach, beforeEach } from 'vitest';

/**
 * Collects what escapes as an unhandled rejection or an uncaught exception during each test of the
 * file: a client must throw neither into a timer nor into a microtask. Emptied before each test.
 */
export function collectEscaped(): unknown[] {
  const escaped: unknown[] = [];
  const onEscaped = (reason: unknown): void => void escaped.push(reason);
  beforeEach(() => {
    escaped.length = 0;
    process.on('unhandledRejection', onEscaped);
    process.on('uncaughtException', onEscaped);
  });
  afterEach(() => {
    process.off('unhandledRejection', onEscaped);
    process.off('uncaughtException', onEscaped);
  });
  return escaped;
}
