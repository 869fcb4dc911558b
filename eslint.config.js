// Flat config: typescript-eslint recommended plus the house rules of docs/DESIGN.md.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Modules that only the server (src/server) may import. */
const serverOnlyImports = {
  paths: [
    { name: 'ws', message: 'Only src/server may import ws: browser builds must stay free of it.' },
    { name: 'sockjs', message: 'Only src/server may import sockjs: browser builds must stay free of it.' },
  ],
  patterns: [{ group: ['node:*'], message: 'Only src/server may use Node built-ins.' }],
};

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'node_modules/', 'test-results/', '.tmp/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      eqeqeq: ['error', 'smart'],
      'no-var': 'error',
      'prefer-const': 'error',
      'object-shorthand': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a string union or an `as const` object, not an enum.' },
      ],
    },
  },
  {
    // The library: no console (the logger is injected) and, outside src/server, no server modules.
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/server/**'],
    rules: { 'no-restricted-imports': ['error', serverOnlyImports] },
  },
  {
    // Tests may be looser: doubles and deliberately malformed input need escape hatches.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    files: ['scripts/**/*.{js,mjs}', 'bench/**/*.mjs', '*.config.{js,mjs,ts}', '.ci/**/*.{js,mjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['bench/browser/**/*.js'],
    languageOptions: { globals: { ...globals.browser, Surelink: 'readonly', io: 'readonly' } },
  },
  {
    files: ['examples/**/*.{js,mjs,ts}'],
    languageOptions: { globals: { ...globals.browser, Surelink: 'readonly' } },
  },
);
