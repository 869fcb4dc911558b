import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { interceptRequests } from '../../src/server/endpoints/intercept-requests.js';

/** Emits a request for `url` (nothing is listening: no socket) and returns who saw it. */
function request(server: Server, url: string, seen: string[]): string[] {
  seen.length = 0;
  server.emit('request', { url } as IncomingMessage, {} as ServerResponse);
  return [...seen];
}

function setup() {
  const server = createServer();
  const seen: string[] = [];
  const app = (req: IncomingMessage): void => void seen.push(`app ${req.url}`);
  server.on('request', app);
  const interceptor = (name: string) => (req: IncomingMessage) => {
    if (req.url !== `/${name}`) return false;
    seen.push(name);
    return true;
  };
  return { server, seen, app, interceptor };
}

describe('interceptRequests', () => {
  it('undone in any order, nested ones leave exactly the listeners that were there', () => {
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
      [0, 2, 1],
    ]) {
      const { server, seen, app, interceptor } = setup();
      const undo = ['a', 'b', 'c'].map((name) => interceptRequests(server, interceptor(name)));
      expect(request(server, '/b', seen)).toEqual(['b']);
      expect(request(server, '/x', seen)).toEqual(['app /x']);
      const left = new Set(['a', 'b', 'c']);
      for (const i of order) {
        undo[i]?.();
        left.delete(['a', 'b', 'c'][i] as string);
        for (const name of ['a', 'b', 'c'])
          expect(request(server, `/${name}`, seen)).toEqual(left.has(name) ? [name] : [`app /${name}`]);
      }
      expect(server.listeners('request')).toEqual([app]);
    }
  });

  it('wrapped by someone else, turns into a pass-through', () => {
    const { server, seen, interceptor } = setup();
    const undo = interceptRequests(server, interceptor('a'));
    const ours = server.listeners('request');
    server.removeAllListeners('request');
    const foreign = function (this: Server, req: IncomingMessage, res: ServerResponse): void {
      for (const fn of ours) fn.call(this, req, res);
    };
    server.on('request', foreign);
    undo();
    expect(request(server, '/a', seen)).toEqual(['app /a']);
    expect(server.listeners('request')).toEqual([foreign]);
  });

  it('undone by a listener while a request goes through the chain, runs each listener once', () => {
    const { server, seen } = setup();
    const undoInner = interceptRequests(server, () => false);
    server.prependListener('request', () => undoInner()); // runs inside the outer chain below
    interceptRequests(server, () => false);
    expect(request(server, '/x', seen)).toEqual(['app /x']);
    expect(request(server, '/y', seen)).toEqual(['app /y']);
  });
});
