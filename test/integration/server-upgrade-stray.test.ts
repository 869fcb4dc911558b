/**
 * Upgrade requests no endpoint takes. Node stops watching a socket once it hands it to `'upgrade'`
 * listeners, so one that nobody answers would stay open for ever: peers churning such requests
 * (a stale client on an old path, a scanner) must not pile sockets up. Where surelink is the only
 * `'upgrade'` listener it answers them 404; an application's own listener keeps them.
 */
import { connect } from 'node:net';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { until, useHarness } from '../helpers/harness.js';

const { server, defer } = useHarness();

/**
 * Sends an upgrade request for `path`; resolves with what came back once the server closed the
 * socket (or 100 ms after a response head came, with `untilClosed` false), or after 3 s.
 */
function strayUpgrade(
  port: number,
  path: string,
  untilClosed = true,
): Promise<{ answer: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    defer(() => socket.destroy());
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closedByServer: false });
    }, 3_000);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      // Whatever else the server writes on the socket comes within the same tick.
      if (!untilClosed && answer.includes('\r\n\r\n')) setTimeout(() => socket.destroy(), 100);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedByServer: untilClosed });
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

function openConnections(http: Server): Promise<number> {
  return new Promise((resolve, reject) => http.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

const STRAY_PATHS = ['/', '/elsewhere', '/realtime/', '/realtime/other', '/realtimeX', '/socket.io/?EIO=4'];

describe('upgrade requests no endpoint takes', () => {
  it('are answered 404 and closed where surelink is the only upgrade listener: 120 of them leave no socket', async () => {
    const s = await server();
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) => strayUpgrade(s.port, STRAY_PATHS[i % STRAY_PATHS.length] as string)),
    );
    for (const { answer, closedByServer } of answers) {
      expect(answer).toMatch(/^HTTP\/1\.1 404 /);
      expect(closedByServer).toBe(true);
    }
    // Upgrades to the endpoints themselves are still theirs, and no one else's.
    for (const path of ['/realtime', '/realtime/sockjs/websocket', '/realtime/sockjs/000/abc/websocket']) {
      const { answer } = await strayUpgrade(s.port, path, false);
      expect(answer, path).toMatch(/^HTTP\/1\.1 101 /);
      expect(answer, path).not.toMatch(/404/);
    }
    let open = -1;
    await until(() => {
      void openConnections(s.http).then((n) => (open = n));
      return open === 0;
    });
  });

  it("are left to the application's own upgrade listener", async () => {
    const s = await server();
    const seen: string[] = [];
    const own = (req: { url?: string }, socket: Duplex): void => {
      if (req.url === '/realtime') return; // surelink's
      seen.push(req.url ?? '');
      socket.end('HTTP/1.1 418 Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    };
    s.http.on('upgrade', own);
    defer(() => s.http.off('upgrade', own));
    const { answer } = await strayUpgrade(s.port, '/elsewhere');
    expect(answer).toMatch(/^HTTP\/1\.1 418 /);
    expect(seen).toEqual(['/elsewhere']);
    // Surelink's own path is still surelink's.
    const ours = await strayUpgrade(s.port, '/realtime', false);
    expect(ours.answer).toMatch(/^HTTP\/1\.1 101 /);
  });
});
