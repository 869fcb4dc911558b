// Loads what `npm run build` wrote to dist/ the way users do (ESM import, CJS require, the
// package's own exports map, a <script> tag in a DOM) and checks the public surface and the
// packaging rules of SPEC section 1. `npm test` builds first; run `npm run build` before running
// this file alone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JSDOM } from 'jsdom';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

/** Error classes exported by 'surelink'; each must extend SurelinkError and keep its name. */
const ERROR_CLASSES = [
  'SurelinkError',
  'TimeoutError',
  'ConnectTimeoutError',
  'AuthError',
  'ClosedError',
  'AbortError',
  'InvalidArgumentError',
  'SessionLostError',
  'ProtocolError',
  'TransportError',
  'FallbackError',
  'RemoteError',
  'NotConnectedError',
  'QueueFullError',
] as const;

/** Runtime names 'surelink' (and the script-tag global `Surelink`) must export. */
const CLIENT_NAMES = ['RealtimeClient', 'isSurelinkError', 'CloseCode', ...ERROR_CLASSES] as const;
/** Classes among them whose `name` must survive minification. */
const CLIENT_CLASSES = ['RealtimeClient', ...ERROR_CLASSES] as const;
/** Runtime names 'surelink/server' must export. */
const SERVER_NAMES = ['createRealtimeServer', 'InvalidArgumentError'] as const;

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (file: string): string => path.join(root, 'dist', file);
const read = (file: string): string => readFileSync(dist(file), 'utf8');

const ARTEFACTS = [
  'index.js',
  'index.cjs',
  'index.d.ts',
  'index.d.cts',
  'server.js',
  'server.cjs',
  'server.d.ts',
  'server.d.cts',
  'surelink.min.js',
  'surelink.full.min.js',
];
/** Files that end up in browsers: they must never carry server-side code. */
const BROWSER_ARTEFACTS = ['index.js', 'index.cjs', 'surelink.min.js', 'surelink.full.min.js'];
/**
 * Strings only sockjs-client's own code contains (surelink's SockJS transport names sockjs-client's
 * transports, so those names are no marker): its onload hook and one of its error messages.
 */
const SOCKJS_CLIENT_MARKERS = ['_sockjs_onload', 'InvalidStateError: The connection has not been established yet'];

type Module = Record<string, unknown>;

/** Names from `names` that `mod` lacks, so a failure lists exactly what is missing. */
function missing(mod: Module, names: readonly string[]): string[] {
  return names.filter((name) => mod[name] === undefined);
}

/** Classes whose `name` differs from their export name (minifiers mangle class names). */
function renamedClasses(mod: Module, names: readonly string[]): string[] {
  return names.filter((name) => typeof mod[name] === 'function' && (mod[name] as { name: string }).name !== name);
}

/** Error classes that do not extend the module's own SurelinkError. */
function strayErrors(mod: Module): string[] {
  const base = mod.SurelinkError as (abstract new (...args: never[]) => object) | undefined;
  if (typeof base !== 'function') return ['SurelinkError'];
  return ERROR_CLASSES.filter((name) => {
    const cls = mod[name] as { prototype?: object } | undefined;
    return name !== 'SurelinkError' && !(cls?.prototype instanceof base);
  });
}

function expectClientSurface(mod: Module, where: string): void {
  expect(missing(mod, CLIENT_NAMES), `public names missing from ${where}`).toEqual([]);
  expect(renamedClasses(mod, CLIENT_CLASSES), `classes whose name changed in ${where}`).toEqual([]);
  expect(strayErrors(mod), `error classes not extending SurelinkError in ${where}`).toEqual([]);
}

beforeAll(() => {
  const absent = ARTEFACTS.filter((file) => !existsSync(dist(file)));
  if (absent.length > 0) {
    throw new Error(`dist/ lacks ${absent.join(', ')}: run \`npm run build\` first (\`npm test\` does)`);
  }
});

describe('error names in an app bundled with a minifier', () => {
  it("keep each class's name: an app's `err.name === 'AbortError'` holds in production too", async () => {
    // esbuild --minify renames classes (Vite's production build does the same): `name` must not come from them.
    const { build } = await import('esbuild');
    const made = ERROR_CLASSES.map((name) =>
      name === 'FallbackError'
        ? `new S.${name}([])`
        : name === 'SurelinkError'
          ? `new S.${name}('X', 'm')`
          : `new S.${name}('m', 'm')`,
    );
    const out = await build({
      stdin: {
        contents: `import * as S from './index.js'; export const names = [${made.join(', ')}].map((e) => e.name);`,
        resolveDir: dist('.'),
        loader: 'js',
      },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      external: ['sockjs-client'],
      write: false,
    });
    const url = `data:text/javascript;base64,${Buffer.from(out.outputFiles[0]?.text ?? '').toString('base64')}`;
    const { names } = (await import(url)) as { names: string[] };
    expect(names).toEqual([...ERROR_CLASSES]);
  });
});

describe('ESM and CJS builds', () => {
  it('dist/index.js imports as ESM with the client names', async () => {
    const mod = (await import(pathToFileURL(dist('index.js')).href)) as Module;
    expectClientSurface(mod, 'dist/index.js');
  });

  it('dist/index.cjs requires as CJS with the client names', () => {
    const mod = createRequire(import.meta.url)(dist('index.cjs')) as Module;
    expectClientSurface(mod, 'dist/index.cjs');
  });

  it('dist/server.js and dist/server.cjs export the server names', async () => {
    const esm = (await import(pathToFileURL(dist('server.js')).href)) as Module;
    const cjs = createRequire(import.meta.url)(dist('server.cjs')) as Module;
    expect(missing(esm, SERVER_NAMES), 'names missing from dist/server.js').toEqual([]);
    expect(missing(cjs, SERVER_NAMES), 'names missing from dist/server.cjs').toEqual([]);
  });

  it('the exports map resolves surelink and surelink/server in plain Node, import and require alike', () => {
    // A child process resolves the package by its own name, exactly as an installed copy would.
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(process.cwd() + '/');
      const keys = (m) => Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort();
      console.log(JSON.stringify({
        importClient: keys(await import('surelink')),
        requireClient: keys(require('surelink')),
        importServer: keys(await import('surelink/server')),
        requireServer: keys(require('surelink/server')),
      }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const keys = JSON.parse(out) as Record<string, string[]>;
    expect(keys.importClient, "import('surelink') and require('surelink') differ").toEqual(keys.requireClient);
    expect(keys.importServer, "import and require of 'surelink/server' differ").toEqual(keys.requireServer);
    const absentClient = CLIENT_NAMES.filter((name) => !keys.importClient?.includes(name));
    const absentServer = SERVER_NAMES.filter((name) => !keys.importServer?.includes(name));
    expect(absentClient, "names missing from import('surelink')").toEqual([]);
    expect(absentServer, "names missing from import('surelink/server')").toEqual([]);
  });

  it('the exports map resolves the script-tag bundles (SPEC section 1), so an app can copy or URL-import them', () => {
    // `require.resolve('surelink/dist/surelink.min.js')`, or a bundler's `?url` import of it, fails
    // with ERR_PACKAGE_PATH_NOT_EXPORTED unless `exports` lists the file.
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(process.cwd() + '/');
      console.log(JSON.stringify(['surelink.min.js', 'surelink.full.min.js'].map((f) => require.resolve('surelink/dist/' + f))));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([
      path.join(root, 'dist/surelink.min.js'),
      path.join(root, 'dist/surelink.full.min.js'),
    ]);
  });

  it('every file the package.json points at exists', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    const targets: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') targets.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    collect([pkg.exports, pkg.main, pkg.module, pkg.types, pkg.unpkg, pkg.jsdelivr]);
    expect(targets.length).toBeGreaterThan(10);
    expect(targets.filter((target) => !existsSync(path.join(root, target)))).toEqual([]);
  });
});

describe('bundled declarations', () => {
  /** Exported names of each declaration file, and the type errors in it, as TypeScript sees them. */
  function declarations(files: string[]): Map<string, { exports: string[]; errors: string[] }> {
    const program = ts.createProgram(files.map(dist), {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
    });
    const checker = program.getTypeChecker();
    const result = new Map<string, { exports: string[]; errors: string[] }>();
    for (const file of files) {
      const source = program.getSourceFile(dist(file));
      const symbol = source && checker.getSymbolAtLocation(source);
      const errors = source
        ? ts.getPreEmitDiagnostics(program, source).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
        : ['not loaded'];
      result.set(file, { exports: symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : [], errors });
    }
    return result;
  }

  it('index.d.ts / index.d.cts and server.d.ts / server.d.cts declare the public names and compile', () => {
    const decls = declarations(['index.d.ts', 'index.d.cts', 'server.d.ts', 'server.d.cts']);
    for (const [file, names] of [
      ['index.d.ts', CLIENT_NAMES],
      ['index.d.cts', CLIENT_NAMES],
      ['server.d.ts', SERVER_NAMES],
      ['server.d.cts', SERVER_NAMES],
    ] as const) {
      const decl = decls.get(file);
      expect(decl?.errors, `type errors in dist/${file}`).toEqual([]);
      expect(
        names.filter((name) => !decl?.exports.includes(name)),
        `names missing from dist/${file}`,
      ).toEqual([]);
    }
  });

  it('the client declarations do not depend on server-side packages', () => {
    for (const file of ['index.d.ts', 'index.d.cts']) {
      expect(read(file)).not.toMatch(/from\s*['"](?:ws|sockjs|node:[^'"]*)['"]/);
    }
  });

  it('compile on TypeScript 5.0: iterator types with one type argument, no lib type newer than 5.0', () => {
    // TypeScript 5.6 gave these TReturn and TNext; an app on 5.0-5.5 cannot compile a declaration
    // that passes them, and `for await` over `client.stream()` fails there too.
    const changedIn56 = new Set(['Iterable', 'IterableIterator', 'AsyncIterable', 'AsyncIterableIterator']);
    const newerThan50 =
      /\b(?:NoInfer|BuiltinIteratorReturn|(?:Async)?IteratorObject|(?:Array|Map|Set|String)Iterator)\b/;
    const found: string[] = [];
    for (const file of ['index.d.ts', 'index.d.cts', 'server.d.ts', 'server.d.cts']) {
      const visit = (node: ts.Node): void => {
        if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
          const name = (ts.isTypeReferenceNode(node) ? node.typeName : node.expression).getText(source);
          if (changedIn56.has(name) && (node.typeArguments?.length ?? 0) > 1)
            found.push(`${file}: ${node.getText(source)}`);
        }
        ts.forEachChild(node, visit);
      };
      const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
      visit(source);
      if (newerThan50.test(source.text)) found.push(`${file}: ${newerThan50.exec(source.text)?.[0]}`);
    }
    expect(found).toEqual([]);
  });
});

describe('script-tag bundles', () => {
  function evaluate(file: string): Module {
    const dom = new JSDOM('<!doctype html><html><body></body></html>', {
      runScripts: 'outside-only',
      url: 'http://localhost/',
    });
    try {
      dom.window.eval(read(file));
      const global = (dom.window as unknown as { Surelink?: Module }).Surelink;
      if (!global) throw new Error(`${file} did not define window.Surelink`);
      return global;
    } finally {
      dom.window.close();
    }
  }

  it.each(['surelink.min.js', 'surelink.full.min.js'])('%s defines window.Surelink with the client names', (file) => {
    expectClientSurface(evaluate(file), `dist/${file}`);
  });
});

describe('packaging rules', () => {
  it("admits no ws older than 8.19.0: the server's closeTimeout (5 s, PROTOCOL.md) is ignored before it", () => {
    // ws 8.0-8.18 hard-code 30 s for the peer's half of a close handshake and ignore the option.
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    };
    const range = /^\^8\.(\d+)\.\d+$/.exec(pkg.peerDependencies.ws ?? '');
    expect(Number(range?.[1]), `peerDependencies.ws is ${pkg.peerDependencies.ws}`).toBeGreaterThanOrEqual(19);
  });

  it.each(BROWSER_ARTEFACTS)('%s never references ws, sockjs (server) or node: modules', (file) => {
    const code = read(file);
    expect(code).not.toMatch(/require\(\s*['"](?:ws|sockjs)['"]\s*\)/);
    expect(code).not.toMatch(/(?:from|import\()\s*['"](?:ws|sockjs)['"]/);
    expect(code).not.toMatch(/['"]node:[a-z_/]+['"]/);
  });

  it.each(BROWSER_ARTEFACTS)('%s has no eval or Function constructor (strict CSP)', (file) => {
    const code = read(file);
    expect(code).not.toMatch(/\beval\s*\(/);
    expect(code).not.toMatch(/\bFunction\s*\(/);
  });

  it('surelink.min.js does not contain sockjs-client', () => {
    const code = read('surelink.min.js');
    expect(SOCKJS_CLIENT_MARKERS.filter((marker) => code.includes(marker))).toEqual([]);
  });

  it('the ESM build loads sockjs-client lazily; surelink.full.min.js bundles it; surelink.min.js uses window.SockJS', () => {
    expect(read('index.js')).toMatch(/import\(\s*['"]#sockjs-client['"]\s*\)/);
    const full = read('surelink.full.min.js');
    expect(SOCKJS_CLIENT_MARKERS.filter((marker) => !full.includes(marker))).toEqual([]);
    expect(read('surelink.min.js')).toContain('SockJS is not loaded');
    expect(read('index.cjs')).toMatch(/import\(\s*['"]#sockjs-client['"]\s*\)/);
  });
});
