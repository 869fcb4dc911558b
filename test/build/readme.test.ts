// README.md is part of the product ("Keep README.md true"; SPEC §8 wants a quick start under 20
// lines that works). This file runs the Quick start against the built package, type-checks every
// ```ts block against the published declarations, and holds the Options table, the Errors
// paragraph and the reserved event names to the code. Each failure names the README line that is
// false. The Size paragraph has its own test (size-synced.test.ts), the prose sections theirs
// (readme-sections.test.ts). Needs `npm run build` first.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { resolveOptions } from '../../src/client/options.js';
import type { RetryPolicy } from '../../src/client/retry.js';
import { at, codeSpans, lineOf, paragraph, readme, root, tableAfter } from '../helpers/readme.js';

/** What `surelink` and `surelink/server` are, for code and for types. */
const PACKAGE = {
  surelink: { js: path.join(root, 'dist/index.js'), types: path.join(root, 'dist/index.d.ts') },
  'surelink/server': { js: path.join(root, 'dist/server.js'), types: path.join(root, 'dist/server.d.ts') },
};
/** How long any one wait for the Quick start may take. */
const WAIT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Reading README.md (test/helpers/readme.ts has the shared readers)

interface Block {
  /** The heading the block is under, without its `#`s. */
  readonly heading: string;
  /** README line of the block's first line of code. */
  readonly line: number;
  readonly code: string;
}

/** Every ```ts block of README.md. */
function tsBlocks(): Block[] {
  const blocks: Block[] = [];
  let heading = '';
  let open: { line: number; lines: string[] } | undefined;
  readme.forEach((text, i) => {
    if (open) {
      if (text.startsWith('```')) {
        blocks.push({ heading, line: open.line, code: open.lines.join('\n') });
        open = undefined;
      } else open.lines.push(text);
    } else if (/^#+ /.test(text)) heading = text.replace(/^#+ /, '');
    else if (/^```(ts|typescript)$/.test(text)) open = { line: i + 2, lines: [] };
  });
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Values written in README and TSDoc

const NOT_A_VALUE = Symbol('not a value');

/**
 * The value `text` writes when it is a literal (numbers, strings, booleans, `Infinity`,
 * `undefined`, arrays and objects of those), else NOT_A_VALUE: `'surelink:' + url` or
 * `globalThis` are descriptions, not values.
 */
function literal(text: string): unknown {
  const source = ts.createSourceFile('value.ts', `(${text})`, ts.ScriptTarget.ES2022);
  const [statement, ...more] = source.statements;
  if (!statement || more.length > 0 || !ts.isExpressionStatement(statement)) return NOT_A_VALUE;
  return statement.end === text.length + 2 ? valueOf(statement.expression) : NOT_A_VALUE;
}

/** The value of one node of a literal (see `literal`). */
function valueOf(node: ts.Expression): unknown {
  if (ts.isParenthesizedExpression(node)) return valueOf(node.expression);
  if (ts.isNumericLiteral(node)) return Number(node.text.replaceAll('_', ''));
  if (ts.isStringLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (ts.isIdentifier(node) && node.text === 'Infinity') return Infinity;
  if (ts.isIdentifier(node) && node.text === 'undefined') return undefined;
  if (ts.isArrayLiteralExpression(node)) {
    const items = node.elements.map(valueOf);
    return items.includes(NOT_A_VALUE) ? NOT_A_VALUE : items;
  }
  if (ts.isObjectLiteralExpression(node)) {
    const entries = node.properties.map((p) =>
      ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))
        ? [p.name.text, valueOf(p.initializer)]
        : ['', NOT_A_VALUE],
    );
    return entries.some(([, value]) => value === NOT_A_VALUE) ? NOT_A_VALUE : Object.fromEntries(entries);
  }
  return NOT_A_VALUE;
}

/** A `@default` tag's value: its text without a trailing remark in parentheses, `{ ttlMs: 1 } (one day)`. */
const tagValue = (tag: string): unknown => literal(tag.replace(/\s+\([^()]*\)$/, ''));

/** The TSDoc of `ClientOptions` (src/client/options.ts) as the compiler reads it. */
function clientOptionsDoc(): {
  keys: string[];
  /** The option's `@default` tag text. */
  defaultOf(option: string): string | undefined;
  /** The `@default` tag text of one field of the option's object type (`reconnect.maxDelayMs`). */
  fieldDefaultOf(option: string, field: string): string | undefined;
} {
  const file = path.join(root, 'src/client/options.ts');
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
  });
  const checker = program.getTypeChecker();
  const declaration = program
    .getSourceFile(file)
    ?.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === 'ClientOptions');
  if (!declaration) throw new Error('src/client/options.ts declares no ClientOptions');
  const options = checker.getTypeAtLocation(declaration);
  const tagOf = (symbol: ts.Symbol | undefined): string | undefined => {
    const tag = symbol?.getJsDocTags(checker).find((t) => t.name === 'default');
    return tag && ts.displayPartsToString(tag.text).trim();
  };
  return {
    keys: options.getProperties().map((p) => p.name),
    defaultOf: (option) => tagOf(options.getProperty(option)),
    fieldDefaultOf(option, field) {
      const property = options.getProperty(option);
      if (!property) return undefined;
      const type = checker.getNonNullableType(checker.getTypeOfSymbol(property));
      for (const member of type.isUnion() ? type.types : [type]) {
        const tag = tagOf(member.getProperty(field));
        if (tag !== undefined) return tag;
      }
      return undefined;
    },
  };
}

/** Whether `value` is an object literal's value (not an array). */
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `@default` tags of ClientOptions that disagree with README's default `stated` for `option`. */
function tsdocDisagreements(doc: ReturnType<typeof clientOptionsDoc>, option: string, stated: string): string[] {
  const value = literal(stated);
  const tag = doc.defaultOf(option);
  // A name such as `globalThis`: the tag says the same name.
  if (value === NOT_A_VALUE) return tag === stated ? [] : [`@default ${tag}`];
  const tagged = tag === undefined ? NOT_A_VALUE : tagValue(tag);
  const problems = tagged === NOT_A_VALUE || isDeepStrictEqual(tagged, value) ? [] : [`@default ${tag}`];
  if (!isRecord(value)) return tagged === NOT_A_VALUE ? [`@default ${tag}`] : problems;
  // The fields of an object option carry their own @default, which must agree; where the option's
  // own tag is prose (reconnect's), each field must have one.
  for (const [field, fieldValue] of Object.entries(value)) {
    const fieldTag = doc.fieldDefaultOf(option, field);
    if (fieldTag === undefined ? tagged === NOT_A_VALUE : !isDeepStrictEqual(tagValue(fieldTag), fieldValue))
      problems.push(`${option}.${field}: @default ${fieldTag}`);
  }
  return problems;
}

/**
 * The numbers a retry policy backs off by, read from what it does: with `Math.random()` at 0 full
 * jitter waits 0, and at 0.5 it waits half of each attempt's cap.
 */
function backoffOf(policy: RetryPolicy): Record<string, unknown> {
  const delay = (attempt: number, random: number): number | null => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(random);
    try {
      return policy({ attempt, elapsedMs: 0, reason: 'README test' });
    } finally {
      spy.mockRestore();
    }
  };
  const jitter = delay(1, 0) === 0 ? 'full' : 'none';
  const cap = (attempt: number): number => (delay(attempt, 0.5) ?? NaN) / (jitter === 'full' ? 0.5 : 1);
  return {
    initialDelayMs: cap(1),
    maxDelayMs: cap(1000),
    factor: cap(2) / cap(1),
    jitter,
    maxAttempts: delay(Number.MAX_SAFE_INTEGER, 0.5) === null ? 'a finite number' : Infinity,
  };
}

/** What a client created with no options runs with, by option (the retry policy as its numbers). */
function defaultOption(option: string): unknown {
  const resolved = resolveOptions({});
  if (option === 'reconnect' && resolved.reconnect)
    return { ...backoffOf(resolved.reconnect.policy), minUptimeMs: resolved.reconnect.minUptimeMs };
  return (resolved as unknown as Record<string, unknown>)[option];
}

// ---------------------------------------------------------------------------------------------
// Compiling README's TypeScript

/**
 * Declarations a fragment assumes, by the heading it is under; a block under any other heading
 * must compile alone.
 */
const PRELUDES: Readonly<Record<string, string>> = {
  'Server (`surelink/server`)': [
    "import { createRealtimeServer } from 'surelink/server';",
    "declare const server: import('node:http').Server;",
    'type ClientEvents = { chat: { text: string } };',
    'type ServerEvents = { chat: { from: string; text: string }; price: { symbol: string; value: number } };',
    'type Identity = string;',
    'declare function verify(token: string | undefined): Promise<{ userId: string } | undefined>;',
  ].join('\n'),
};

/** Each block's type errors as `README.md:N: message`, from one program over all of them. */
function typeErrors(blocks: readonly Block[]): Map<Block, string[]> {
  const options: ts.CompilerOptions = {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    typeRoots: [path.join(root, 'node_modules', '@types')],
    baseUrl: root,
    paths: Object.fromEntries(Object.entries(PACKAGE).map(([name, { types }]) => [name, [types]])),
  };
  // Each block is a file of its own that exists only in memory: its prelude, then its code.
  const files = new Map(blocks.map((b) => [path.join(root, `README.md.${b.line}.ts`), b]));
  const text = (b: Block): string => (PRELUDES[b.heading] ? `${PRELUDES[b.heading]}\n${b.code}` : b.code);
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) => {
    const block = files.get(name);
    return block ? ts.createSourceFile(name, text(block), language) : getSourceFile.call(host, name, language, ...rest);
  };
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => {
    const block = files.get(name);
    return block ? text(block) : readFile.call(host, name);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const result = new Map<Block, string[]>();
  for (const [name, block] of files) {
    const preludeLines = PRELUDES[block.heading]?.split('\n').length ?? 0;
    result.set(
      block,
      ts.getPreEmitDiagnostics(program, program.getSourceFile(name)).map((d) => {
        const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
        if (!d.file || d.start === undefined) return message;
        const line = d.file.getLineAndCharacterOfPosition(d.start).line - preludeLines;
        return line < 0 ? `prelude: ${message}` : `${at(block.line + line)}: ${message}`;
      }),
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Running the Quick start

/**
 * The only changes made to the Quick start before it runs (on the JavaScript TypeScript emits),
 * each of which must apply exactly once: a free loopback port instead of 8080, and the client
 * pointed at it once the server listens.
 * Node 20 has no global WebSocket, so `ws` stands in as `globalThis.WebSocket` meanwhile.
 */
const QUICK_START_CHANGES: readonly (readonly [from: string, to: string])[] = [
  // Tests listen on loopback only, on a free port.
  ['.listen(8080)', ".listen(0, '127.0.0.1')"],
  // With a host, listen() binds after it returns: the client part waits for it.
  ['// browser', "await new Promise((resolve) => (http.listening ? resolve() : http.once('listening', resolve)));"],
  ["'ws://localhost:8080/realtime'", '`ws://127.0.0.1:${http.address().port}/realtime`'],
];

/** What the test needs of the Quick start's own objects (exported from it, see quickStartModule). */
interface QuickStart {
  readonly http: Server;
  readonly realtime: { close(): Promise<void> };
  readonly client: { readonly queued: number; close(): unknown };
}

/**
 * The Quick start as a module of the built package: TypeScript's JavaScript for it, with
 * QUICK_START_CHANGES made, `surelink` and `surelink/server` pointed at dist/, and its three
 * objects exported so the test can close them.
 */
function quickStartModule(block: Block): string {
  let code = ts.transpileModule(block.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  for (const [from, to] of QUICK_START_CHANGES) {
    expect(code.split(from).length - 1, `${at(block.line)}: the Quick start has one ${from}`).toBe(1);
    code = code.replace(from, to);
  }
  for (const [name, { js }] of Object.entries(PACKAGE))
    code = code.replaceAll(`from '${name}'`, `from '${pathToFileURL(js).href}'`);
  return `${code}\nexport { http, realtime, client };\n`;
}

/** `console.log` lines, and a bounded wait for one that matches. */
function captureLog(): { lines: string[]; until(line: RegExp, what: string): Promise<void>; restore(): void } {
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
    for (const check of waiting) check();
  });
  return {
    lines,
    until: (line, what) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`${what} was not logged within ${WAIT_MS} ms; logged: ${JSON.stringify(lines)}`));
        }, WAIT_MS);
        const check = (): void => {
          if (!lines.some((l) => line.test(l))) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
      }),
    restore: () => spy.mockRestore(),
  };
}

// ---------------------------------------------------------------------------------------------

const quickStartBlock = tsBlocks().find((b) => b.heading === 'Quick start');

describe('README Quick start', () => {
  const block = quickStartBlock;
  const file = path.join(root, '.tmp', `readme-quick-start-${process.pid}.mjs`);
  const webSocket = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
  let log: ReturnType<typeof captureLog>;
  let run: QuickStart | undefined;
  let queuedAtStart: number | undefined;
  /** The README line of the Quick start's own line that contains `text`. */
  const lineWith = (text: string): string => at(lineOf(text, (block?.line ?? 1) - 1));

  beforeAll(async () => {
    if (!block) return;
    log = captureLog();
    Object.defineProperty(globalThis, 'WebSocket', { value: WebSocket, configurable: true, writable: true });
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, quickStartModule(block));
    run = (await import(pathToFileURL(file).href)) as QuickStart;
    // At once: the queue is flushed only after network round trips (connect, hello, welcome).
    queuedAtStart = run.client.queued;
  });

  afterAll(async () => {
    if (run) {
      const { client, realtime, http } = run;
      client.close();
      await realtime.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
    log?.restore();
    if (webSocket) Object.defineProperty(globalThis, 'WebSocket', webSocket);
    else Reflect.deleteProperty(globalThis, 'WebSocket');
    rmSync(file, { force: true });
  });

  it('is a ```ts block under "## Quick start", under 20 lines (SPEC §8)', () => {
    expect(block, 'README.md has a ```ts block under "## Quick start"').toBeDefined();
    expect(block?.code.split('\n').length, `${at(block?.line ?? 0)}: the Quick start is under 20 lines`).toBeLessThan(
      20,
    );
  });

  it('queues the send made before the connection opens', () => {
    expect(queuedAtStart, `${lineWith("client.send('chat'")}: the first send is queued`).toBe(1);
  });

  it('connects: the client logs its state reaching open', async () => {
    await log.until(/-> open$/, `${lineWith("client.on('state'")}: the state change to open`);
  });

  it("receives the server's welcome", async () => {
    await log.until(/^server: welcome$/, `${lineWith("text: 'welcome'")}: the welcome ("server: welcome")`);
  });

  it("delivers the queued 'hi' to the server, which broadcasts it back as chat", async () => {
    await log.until(/^(?!server: ).+: hi$/, `${lineWith("realtime.broadcast('chat'")}: the broadcast of 'hi'`);
  });
});

describe("README's TypeScript", () => {
  const blocks = tsBlocks();
  let errors: Map<Block, string[]> | undefined;

  it('has ```ts blocks', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks)('the block at README.md:$line (under $heading) compiles against dist/*.d.ts', (block) => {
    errors ??= typeErrors(blocks);
    expect(errors.get(block)).toEqual([]);
  });
});

describe('README Options table', () => {
  const rows = tableAfter('### Options').map(({ line, cells: [names = '', defaults = ''] }) => ({
    line,
    names: codeSpans(names),
    // A default in backticks states a value or a name (`globalThis`); one in plain words describes.
    stated: /^`[^`]+`$/.test(defaults) ? defaults.slice(1, -1) : undefined,
  }));
  const doc = clientOptionsDoc();

  it('lists every option of ClientOptions', () => {
    expect(rows.length).toBeGreaterThan(0);
    const listed = rows.flatMap((r) => r.names);
    expect(
      doc.keys.filter((key) => !listed.includes(key)),
      `${at(lineOf('### Options'))}: options missing from the table`,
    ).toEqual([]);
  });

  it.each(rows)('row README.md:$line ($names) names options of ClientOptions', ({ line, names }) => {
    expect(names.length, `${at(line)}: the row names an option`).toBeGreaterThan(0);
    expect(
      names.filter((name) => !doc.keys.includes(name)),
      `${at(line)}: not options of ClientOptions`,
    ).toEqual([]);
  });

  const withDefaults = rows.filter((r) => r.stated !== undefined);
  // A name such as `globalThis` is no value to compare: only the TSDoc can say it too.
  const withValues = withDefaults.filter((r) => literal(r.stated ?? '') !== NOT_A_VALUE);

  it.each(withValues)(
    'row README.md:$line ($names): the default is what the client resolves',
    ({ line, names, stated = '' }) => {
      const value = literal(stated);
      for (const name of names) {
        const actual = defaultOption(name);
        const message = `${at(line)}: \`${name}\` defaults to ${stated}`;
        if (isRecord(value)) expect(actual, message).toMatchObject(value);
        else expect(actual, message).toEqual(value);
      }
    },
  );

  it.each(withDefaults)(
    'row README.md:$line ($names): the default is the @default of ClientOptions',
    ({ line, names, stated = '' }) => {
      for (const name of names)
        expect(
          tsdocDisagreements(doc, name, stated),
          `${at(line)}: \`${name}\` defaults to ${stated}, but src/client/options.ts says`,
        ).toEqual([]);
    },
  );
});

describe('README Errors paragraph', () => {
  const line = lineOf('### Errors') + 2;
  const text = paragraph(line);
  const named = [...text.matchAll(/`(\w+Error)`(?: \(`([A-Z_]+)`)?/g)].map(([, name = '', code]) => ({ name, code }));
  let surelink: Record<string, unknown>;

  beforeAll(async () => {
    surelink = (await import(pathToFileURL(PACKAGE.surelink.js).href)) as Record<string, unknown>;
  });

  it.each(named.filter((n) => n.name !== 'SurelinkError'))(
    '$name is exported from surelink with code $code',
    ({ name, code }) => {
      const Class = surelink[name] as (new (first: unknown) => Error & { code: string }) | undefined;
      expect(typeof Class, `${at(line)}: surelink exports ${name}`).toBe('function');
      // Every error constructor takes an array first: FallbackError's list of failures, the
      // others' message (or transport, or remote code), where it becomes a string.
      const error = Class && new Class([]);
      expect(error, `${at(line)}: ${name} is a SurelinkError`).toBeInstanceOf(surelink.SurelinkError as typeof Error);
      expect(error?.code, `${at(line)}: ${name} has code ${code}`).toBe(code);
    },
  );

  it('names every error class surelink exports, each with its code', () => {
    const exported = Object.keys(surelink).filter(
      (k) => /^[A-Z]\w*Error$/.test(k) && typeof surelink[k] === 'function',
    );
    expect(
      exported.filter((name) => !named.some((n) => n.name === name)),
      `${at(line)}: error classes the Errors paragraph does not name`,
    ).toEqual([]);
    expect(
      named.filter((n) => n.name !== 'SurelinkError' && n.code === undefined).map((n) => n.name),
      `${at(line)}: errors named without their code`,
    ).toEqual([]);
  });
});

describe('README reserved event names', () => {
  const line = lineOf('Lifecycle names (');
  const sentence = paragraph(lineOf('`url` is the WebSocket endpoint'));
  const lists = /Lifecycle names \(([^)]*)\) and the server session's own \(([^)]*)\)/.exec(sentence);
  const [client = '', session = ''] = lists?.slice(1) ?? [];
  const eventsLine = lineOf('Lifecycle events:');
  let surelink: { RESERVED_EVENTS: readonly string[]; SESSION_EVENTS: readonly string[] };

  beforeAll(async () => {
    surelink = (await import(pathToFileURL(PACKAGE.surelink.js).href)) as typeof surelink;
  });

  it("lists the client's reserved names (RESERVED_EVENTS)", () => {
    expect(codeSpans(client).sort(), `${at(line)}: the lifecycle names`).toEqual([...surelink.RESERVED_EVENTS].sort());
  });

  it("lists the server session's reserved names (SESSION_EVENTS)", () => {
    expect(codeSpans(session).sort(), `${at(line)}: the server session's names`).toEqual(
      [...surelink.SESSION_EVENTS].sort(),
    );
  });

  it('describes the payload of every lifecycle event', () => {
    const described = codeSpans(paragraph(eventsLine)).filter((name) => /^[a-z:]+$/.test(name));
    expect(described.sort(), `${at(eventsLine)}: the lifecycle events described`).toEqual(
      [...surelink.RESERVED_EVENTS].sort(),
    );
  });
});
