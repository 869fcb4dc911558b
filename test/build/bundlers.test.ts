// The built package as an app's build and a Node project meet it, beyond what
// test/browser/bundled.test.ts covers (esbuild for the browser, in Chromium):
// - Rollup with @rollup/plugin-node-resolve as most configs have it, without `browser: true`: it
//   resolves package.json `imports` with the conditions default, module and import only. When
//   `#sockjs-client` fell to `default` (sockjs-client's CommonJS entry), the lazy chunk imported
//   crypto, tty, util, net… (node-resolve leaves Node built-ins external, silently), the browser
//   refused to load it, and the SockJS fallback never connected: no warning at build, no error.
// - TypeScript in a Node project whose `lib` leaves out "dom" (a bot, a worker), skipLibCheck off:
//   the declarations named DOM's IDBFactory and Storage, so `import 'surelink'` did not compile.
// - Source maps: they pointed at src/*.ts, which is not published, without the text.
// - Server-side rendering: importing 'surelink' and constructing with `autoConnect: false`, as a
//   component module rendered in Node does, reads no browser global.
// Needs `npm run build` first (`npm test` does).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve, type RollupNodeResolveOptions } from '@rollup/plugin-node-resolve';
import { rollup, type OutputChunk, type Plugin } from 'rollup';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const distIndex = path.join(root, 'dist', 'index.js');

beforeAll(() => {
  if (!existsSync(distIndex)) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
});

/** A module's path from its package on: node_modules may be a symlink, and plugin ids carry a prefix and a query. */
const fromNodeModules = (id: string): string => id.slice(id.lastIndexOf('node_modules/') + 13).replace(/\?.*$/, '');

/** The app's entry, what a framework's component does with surelink; the built ESM entry stands in for the package. */
function appEntry(): Plugin {
  const id = '\0app';
  return {
    name: 'app',
    resolveId: (source) => (source === 'app' ? id : null),
    load: (module) =>
      module === id
        ? `import { RealtimeClient } from ${JSON.stringify(distIndex)};\n` +
          `export const connect = (url) => new RealtimeClient(url, { transports: ['sockjs'] });\n`
        : null,
  };
}

describe('Rollup with @rollup/plugin-node-resolve and @rollup/plugin-commonjs', () => {
  const configs: [string, RollupNodeResolveOptions][] = [
    ['nodeResolve() (its defaults)', {}],
    ['nodeResolve({ browser: true })', { browser: true }],
  ];

  it.each(configs)(
    "%s: sockjs-client's browser script is a lazy chunk of its own, and no chunk imports a Node built-in",
    async (_name, options) => {
      const warnings: string[] = [];
      const bundle = await rollup({
        input: 'app',
        plugins: [appEntry(), nodeResolve(options), commonjs()],
        onwarn: (warning) => warnings.push(warning.message),
      });
      const { output } = await bundle.generate({ format: 'es' });
      await bundle.close();
      const chunks = output.filter((file): file is OutputChunk => file.type === 'chunk');
      const sockjs = chunks.filter((chunk) => chunk.moduleIds.some((id) => id.includes('node_modules/sockjs-client/')));

      expect(warnings, 'what the build prints').toEqual([]);
      const sockjsModules = (chunk: OutputChunk): string[] => [
        ...new Set(chunk.moduleIds.filter((id) => id.includes('node_modules/sockjs-client/')).map(fromNodeModules)),
      ];
      expect(sockjs.map(sockjsModules), 'one chunk, the browser script only').toEqual([
        ['sockjs-client/dist/sockjs.min.js'],
      ]);
      const lazy = sockjs[0]?.fileName ?? '-';
      const importers = (of: (chunk: OutputChunk) => string[]): string[] =>
        chunks.filter((chunk) => of(chunk).includes(lazy)).map((chunk) => chunk.fileName);
      expect(
        importers((chunk) => chunk.imports),
        'chunks that load it with the app',
      ).toEqual([]);
      expect(
        importers((chunk) => chunk.dynamicImports),
        'chunks that load it on demand',
      ).toHaveLength(1);
      expect(sockjs[0]?.isEntry).toBe(false);
      // What a browser cannot load: a bare specifier left in the output (crypto, util, net…).
      const own = new Set(chunks.map((chunk) => chunk.fileName));
      expect(chunks.flatMap((chunk) => [...chunk.imports, ...chunk.dynamicImports].filter((i) => !own.has(i)))).toEqual(
        [],
      );
    },
  );
});

describe('source maps', () => {
  // src/ is not published: a map without the sources' text made webpack's source-map-loader (Create
  // React App and others) warn once per source file, and Vite too when it serves dist/ unbundled.
  it.each(['index.js', 'index.cjs', 'server.js', 'server.cjs', 'surelink.min.js', 'surelink.full.min.js'])(
    'dist/%s.map carries the text of every source it maps to',
    async (file) => {
      const map = JSON.parse(await readFile(path.join(root, 'dist', `${file}.map`), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      expect(map.sources.length).toBeGreaterThan(0);
      const missing = map.sources.filter((_, i) => typeof map.sourcesContent?.[i] !== 'string');
      expect(missing, 'sources without their text').toEqual([]);
    },
  );
});

describe('TypeScript consumers of the published declarations', () => {
  let dir = '';
  beforeAll(async () => {
    // A project with surelink installed: TypeScript resolves 'surelink' through the exports map.
    dir = await mkdtemp(path.join(os.tmpdir(), 'surelink-ts-consumer-'));
    await mkdir(path.join(dir, 'node_modules'));
    await symlink(root, path.join(dir, 'node_modules', 'surelink'), 'dir');
    const app = `
      import { createServer } from 'node:http';
      import { RealtimeClient, type ClientOptions } from 'surelink';
      import { createRealtimeServer } from 'surelink/server';
      type ServerEvents = { chat: { from: string; text: string } };
      type ClientEvents = { chat: { text: string } };
      const realtime = createRealtimeServer<ClientEvents, ServerEvents>({ server: createServer(), path: '/realtime' });
      realtime.on('connection', (session) => {
        session.on('chat', ({ text }) => realtime.broadcast('chat', { from: session.id, text }));
        // @ts-expect-error the server sends ServerEvents
        session.send('chat', { text: 'no from' });
      });
      const options: ClientOptions = { autoConnect: false };
      const client = new RealtimeClient<ServerEvents, ClientEvents>('ws://localhost:8080/realtime', options);
      client.on('chat', (msg) => msg.from.toUpperCase());
      client.send('chat', { text: 'hi' });
      // @ts-expect-error the client sends ClientEvents
      client.send('chat', { txt: 'hi' });
      export {};
    `;
    await writeFile(path.join(dir, 'app.mts'), app);
    await writeFile(path.join(dir, 'app.cts'), app);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Type errors in the consumer's files and in surelink's declarations, with skipLibCheck off. */
  function typeErrors(files: string[], options: ts.CompilerOptions): string[] {
    const program = ts.createProgram(
      files.map((file) => path.join(dir, file)),
      {
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        target: ts.ScriptTarget.ES2022,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        ...options,
      },
    );
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${path.relative(dir, d.file.fileName)}: ` : '';
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  }

  // With the DOM lib, the declarations are checked in artefacts.test.ts, and attw checks every resolution mode.
  it('nodenext, ESM and CJS, typed event maps, in a Node project without the DOM lib', { timeout: 60_000 }, () => {
    const errors = typeErrors(['app.mts', 'app.cts'], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts'],
    });
    expect(errors).toEqual([]);
  });
});

describe('server-side rendering', () => {
  // Every browser global a client could read is a getter that records the read.
  const TRAPS = `
    const read = [];
    for (const name of ['window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'indexedDB',
      'self', 'addEventListener', 'WebSocket', 'XMLHttpRequest', 'EventSource', 'location']) {
      if (name in globalThis) delete globalThis[name];
      Object.defineProperty(globalThis, name, { configurable: true, get: () => { read.push(name); return undefined; } });
    }`;
  const scripts = {
    esm: `${TRAPS}
      const { RealtimeClient } = await import('surelink');
      const atImport = [...read];
      const client = new RealtimeClient('ws://127.0.0.1:9/realtime', { autoConnect: false });
      await new Promise((resolve) => setTimeout(resolve, 20));
      console.log(JSON.stringify({ atImport, atConstruct: read.slice(atImport.length), state: client.state }));
      client.close();`,
    cjs: `${TRAPS}
      const { RealtimeClient } = require('surelink');
      const atImport = [...read];
      const client = new RealtimeClient('ws://127.0.0.1:9/realtime', { autoConnect: false });
      setTimeout(() => {
        console.log(JSON.stringify({ atImport, atConstruct: read.slice(atImport.length), state: client.state }));
        client.close();
      }, 20);`,
  };

  it.each(Object.entries(scripts))(
    "%s: importing 'surelink' and constructing with autoConnect: false reads no browser global",
    (kind, script) => {
      // A child process resolves the package by its own name, as an installed copy would.
      const args = kind === 'esm' ? ['--input-type=module', '-e', script] : ['-e', script];
      const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 15_000 });
      const seen = JSON.parse(out) as { atImport: string[]; atConstruct: string[]; state: string };
      expect(seen.atImport, 'read while importing').toEqual([]);
      // `location` only: the base for a relative URL, read with `?.` (this URL is absolute).
      expect(
        seen.atConstruct.filter((name) => name !== 'location'),
        'read by the constructor',
      ).toEqual([]);
      expect(seen.state).toBe('idle');
    },
  );
});
