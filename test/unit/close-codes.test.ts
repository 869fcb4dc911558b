import { describe, expect, it } from 'vitest';
import { CloseCode, closeCodeForHttpStatus, isRetryable } from '../../src/protocol/close-codes.js';
import type { CloseCodeName } from '../../src/protocol/close-codes.js';

/** The table in PROTOCOL.md, "Close codes": value and whether the client reconnects. */
const table: Record<CloseCodeName, readonly [code: number, retry: boolean]> = {
  Normal: [1000, false],
  GoingAway: [1001, true],
  Abnormal: [1006, true],
  InternalError: [1011, true],
  ServiceRestart: [1012, true],
  TryAgainLater: [1013, true],
  HeartbeatTimeout: [4000, true],
  ConnectTimeout: [4001, true],
  HandshakeTimeout: [4008, true],
  ProtocolError: [4400, true],
  Unauthorized: [4401, false],
  Forbidden: [4403, false],
  UnknownConnection: [4404, true],
  FrameTooLarge: [4413, true],
  UnsupportedVersion: [4426, false],
  TooManyRequests: [4429, true],
  SlowConsumer: [4508, true],
};

describe('close-code table', () => {
  it('has exactly the documented codes', () => {
    const documented = Object.fromEntries(Object.entries(table).map(([name, [code]]) => [name, code]));
    expect(CloseCode).toEqual(documented);
  });

  it('has no two names for one code', () => {
    const codes = Object.values(CloseCode);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(Object.entries(table))('%s: isRetryable matches the table', (_name, [code, retry]) => {
    expect(isRetryable(code)).toBe(retry);
  });

  it.each([1002, 1003, 1008, 1009, 1014, 3000, 4002, 4999])('retries unknown code %i', (code) => {
    expect(isRetryable(code)).toBe(true);
  });
});

describe('closeCodeForHttpStatus (long polling)', () => {
  it.each([
    [400, CloseCode.ProtocolError],
    [401, CloseCode.Unauthorized],
    [403, CloseCode.Forbidden],
    [404, CloseCode.UnknownConnection],
    [410, CloseCode.UnknownConnection],
    [413, CloseCode.FrameTooLarge],
    [426, CloseCode.UnsupportedVersion],
    [429, CloseCode.TooManyRequests],
    [503, CloseCode.TryAgainLater],
    [500, CloseCode.InternalError],
    [501, CloseCode.InternalError],
    [502, CloseCode.InternalError],
    [504, CloseCode.InternalError],
    [599, CloseCode.InternalError],
    // Anything else is a reply the protocol does not define.
    [0, CloseCode.ProtocolError],
    [200, CloseCode.ProtocolError],
    [302, CloseCode.ProtocolError],
    [405, CloseCode.ProtocolError],
    [408, CloseCode.ProtocolError],
    [418, CloseCode.ProtocolError],
  ])('HTTP %i -> %i', (status, code) => {
    expect(closeCodeForHttpStatus(status)).toBe(code);
  });

  it('keeps the retry decision of the status (401/403/426 stop, 429/5xx retry)', () => {
    expect([401, 403, 426].map((s) => isRetryable(closeCodeForHttpStatus(s)))).toEqual([false, false, false]);
    expect([404, 410, 429, 500, 502, 503].map((s) => isRetryable(closeCodeForHttpStatus(s)))).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });
});
