// Builds every artefact in dist/ (see README "Packages and dependencies"):
//   index.{js,cjs,d.ts,d.cts}   the client ('surelink'), dependencies external
//   server.{js,cjs,d.ts,d.cts}  the Node server ('surelink/server'), everything external
//   surelink.min.js             IIFE, global `Surelink`, SockJS taken from window.SockJS
//   surelink.full.min.js        the same with sockjs-client bundled in
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

const root = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const banner = `/*! surelink v${pkg.version} */`;
const tsconfig = path.join(root, 'tsconfig.build.json');

const packages = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const nodeBuiltins = new Set(builtinModules);
const isNodeBuiltin = (id) => id.startsWith('node:') || nodeBuiltins.has(id.split('/')[0]);
// `#…`: the package's own `imports` (package.json), resolved by whoever consumes dist/ (a bundler picks its condition).
const isPackage = (id) => id.startsWith('#') || packages.some((name) => id === name || id.startsWith(`${name}/`));
/** Server-side modules that must never reach a browser artefact. */
const isServerOnly = (id) => id === 'ws' || id === 'sockjs' || isNodeBuiltin(id);

/** Fails the build when a browser artefact imports something it must not. */
function browserGuard({ allowImports }) {
  return {
    name: 'surelink:browser-guard',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        for (const id of [...chunk.imports, ...chunk.dynamicImports]) {
          if (isServerOnly(id) || !allowImports) {
            this.error(
              `${chunk.fileName} imports "${id}": browser builds must be self-contained and never import ws, sockjs or node:*`,
            );
          }
        }
      }
    },
  };
}

/** Redirects `src/transports/sockjs-loader.ts` to one of its script-tag variants. */
function sockjsLoader(variant) {
  const original = path.join(root, 'src/transports/sockjs-loader');
  const replacement = path.join(root, `src/transports/sockjs-loader.${variant}.ts`);
  return {
    name: 'surelink:sockjs-loader',
    resolveId(source, importer) {
      if (!importer || !source.startsWith('.')) return null;
      const target = path.resolve(path.dirname(importer), source).replace(/\.[cm]?[jt]s$/, '');
      return target === original ? replacement : null;
    },
  };
}

/**
 * Prepares sockjs-client (browserify-era CommonJS) for bundling: `process.env.NODE_ENV` becomes a
 * literal so its debug logging drops out, and its ES5 shims (which build functions with the
 * Function constructor, breaking strict CSPs) are skipped because every ES2022 browser has them.
 */
function sockjsClientForBrowsers() {
  const nodeEnv = 'process.env.NODE_ENV';
  const production = '"production"'.padEnd(nodeEnv.length); // same length keeps source maps exact
  const shims = path.join('node_modules', 'sockjs-client', 'lib', 'shims.js');
  return {
    name: 'surelink:sockjs-client',
    load(id) {
      return id.endsWith(shims) ? 'module.exports = {}; // ES5 shims: not needed on ES2022 targets\n' : null;
    },
    transform(code, id) {
      if (!id.includes(`${path.sep}node_modules${path.sep}`) || !code.includes(nodeEnv)) return null;
      return { code: code.replaceAll(nodeEnv, production), map: null };
    },
  };
}

// The published maps carry the TypeScript they map to (src/ is not in the package): without it,
// debuggers showed nothing, and tools that read a package's maps (webpack's source-map-loader, Vite
// serving an unbundled dependency) warned about each of the 52 missing files.
const ts = () => typescript({ tsconfig, outputToFilesystem: false, compilerOptions: { inlineSources: true } });

/** Every build type-checks all of src; report the diagnostics once (`npm run typecheck` is the gate). */
const typeDiagnosticsOnce = (warning, warn) => {
  if (warning.plugin !== 'typescript') warn(warning);
};

/**
 * The client's constants (src/protocol/limits.ts, then the close codes), in a chunk of their own that imports nothing
 * and starts with them: an app's esbuild inlines a top-level constant only when nothing that may have effects (an
 * import among others) comes before it in its module, and dist/index.js starts with its imports. About 70 bytes
 * min+gzip of the import.
 */
const CONSTANTS = /src[\\/]protocol[\\/](limits|close-codes)\.ts$/;

/** ESM + CJS build of one entry point, every package and Node built-in left external. */
function library(input, name, { plugins = [], reportTypes = false, manualChunks } = {}) {
  return {
    input,
    ...(reportTypes ? {} : { onwarn: typeDiagnosticsOnce }),
    external: (id) => isPackage(id) || isNodeBuiltin(id),
    plugins: [ts(), ...plugins],
    output: [
      {
        dir: 'dist',
        format: 'es',
        entryFileNames: `${name}.js`,
        chunkFileNames: 'chunks/[name]-[hash].js',
        manualChunks,
        sourcemap: true,
      },
      {
        dir: 'dist',
        format: 'cjs',
        entryFileNames: `${name}.cjs`,
        chunkFileNames: 'chunks/[name]-[hash].cjs',
        manualChunks,
        exports: 'named',
        sourcemap: true,
      },
    ],
  };
}

/** One bundled declaration file per entry point, written as .d.ts (ESM) and .d.cts (CJS). */
function declarations(input, name) {
  return {
    input,
    // Types from packages and Node built-ins (the server's `node:http`) stay imports, as in the code.
    external: (id) => isPackage(id) || isNodeBuiltin(id),
    plugins: [dts({ tsconfig })],
    output: [
      { file: `dist/${name}.d.ts`, format: 'es' },
      { file: `dist/${name}.d.cts`, format: 'es' },
    ],
  };
}

/** Script-tag bundle: one self-contained minified IIFE exposing `window.Surelink`. */
function scriptTag(file, loaderVariant) {
  return {
    input: 'src/index.ts',
    onwarn: typeDiagnosticsOnce,
    plugins: [
      sockjsLoader(loaderVariant),
      sockjsClientForBrowsers(),
      nodeResolve({ browser: true, preferBuiltins: false }),
      commonjs({
        // No CommonJS module bundled here marks itself `__esModule`: a default import is its
        // `module.exports`, so the check for the marker (a helper in the file) is not needed.
        defaultIsModuleExports: true,
        // Without sockjs-client the one CommonJS module is eventemitter3, which requires nothing: no
        // wrapper is needed to run it lazily. sockjs-client's modules keep their CommonJS order.
        strictRequires: loaderVariant !== 'global',
      }),
      ts(),
      browserGuard({ allowImports: false }),
    ],
    output: {
      file,
      format: 'iife',
      name: 'Surelink',
      exports: 'named',
      banner,
      sourcemap: true,
      plugins: [
        terser({
          ecma: 2020,
          // A second pass finds what the first one's changes made removable (safe options only).
          compress: { passes: 2 },
          // `Surelink.RealtimeClient.name` and the error classes' names read as in the source: the
          // classes the package exports. Internal classes (the core, the link, the log…) are never seen
          // by name, and their names were about 100 bytes (min+gzip) of the file.
          keep_classnames: /^(RealtimeClient|\w*Error)$/,
          format: { comments: /^!/ },
        }),
      ],
    },
  };
}

export default [
  library('src/index.ts', 'index', {
    plugins: [browserGuard({ allowImports: true })],
    reportTypes: true,
    manualChunks: (id) => (CONSTANTS.test(id) ? 'constants' : undefined),
  }),
  library('src/server/index.ts', 'server'),
  declarations('src/index.ts', 'index'),
  declarations('src/server/index.ts', 'server'),
  scriptTag('dist/surelink.min.js', 'global'),
  scriptTag('dist/surelink.full.min.js', 'bundled'),
];
