/**
 * TLS for tests: a throwaway self-signed certificate for 127.0.0.1 (made with `openssl` at test
 * time, never committed), and a `fetch` that trusts it (Node's global fetch takes no CA, and
 * undici is not a dependency we can import), over HTTP/1.1 or HTTP/2.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export interface TestCert {
  readonly key: string;
  readonly cert: string;
}

/** A fresh EC key and a one-day self-signed certificate whose subjectAltName is IP 127.0.0.1. */
export function selfSignedCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'surelink-tls-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function toResponse(status: number, headers: IncomingHttpHeaders, body: Readable): Response {
  const h = new Headers();
  for (const [name, value] of Object.entries(headers))
    if (!name.startsWith(':') && value !== undefined)
      h.set(name, Array.isArray(value) ? value.join(', ') : String(value));
  const empty = status === 204 || status === 304;
  if (empty) body.resume();
  return new Response(empty ? null : (Readable.toWeb(body) as ReadableStream<Uint8Array>), { status, headers: h });
}

function plainHeaders(init: RequestInit | undefined): Record<string, string> {
  return Object.fromEntries(new Headers(init?.headers).entries());
}

function bodyText(init: RequestInit | undefined): string | undefined {
  const body = init?.body;
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'string') throw new TypeError('test fetch: only string bodies');
  return body;
}

/** A fetch over HTTPS/1.1 that trusts `ca` (the long-polling client only sends text bodies). */
export function https1Fetch(ca: string): typeof globalThis.fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      const body = bodyText(init);
      const req = request(url, { method: init?.method ?? 'GET', headers: plainHeaders(init), ca }, (res) =>
        resolve(toResponse(res.statusCode ?? 0, res.headers, res)),
      );
      abortOn(init?.signal, (reason) => req.destroy(reason instanceof Error ? reason : new Error('aborted')));
      req.on('error', reject);
      req.end(body);
    });
}

/**
 * A fetch over HTTP/2 to one origin that trusts `ca`: every request is a stream on one session,
 * as a browser does. `sessions` collects the sessions so that a test can close them (or cut them).
 */
export function http2Fetch(ca: string, sessions: ClientHttp2Session[] = []): typeof globalThis.fetch {
  let session: ClientHttp2Session | undefined;
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (!session || session.closed || session.destroyed) {
        session = connect(url.origin, { ca });
        session.on('error', () => undefined); // surfaces on the streams
        sessions.push(session);
      }
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: init?.method ?? 'GET',
        [constants.HTTP2_HEADER_PATH]: url.pathname + url.search,
        ...plainHeaders(init),
      });
      abortOn(init?.signal, () => stream.close(constants.NGHTTP2_CANCEL));
      stream.on('response', (headers) => resolve(toResponse(Number(headers[':status']), headers, stream)));
      stream.on('error', reject);
      stream.on('close', () => reject(new Error(`stream closed (${stream.rstCode})`)));
      stream.end(bodyText(init));
    });
}

function abortOn(signal: AbortSignal | null | undefined, abort: (reason: unknown) => void): void {
  if (!signal) return;
  if (signal.aborted) abort(signal.reason);
  else signal.addEventListener('abort', () => abort(signal.reason), { once: true });
}
