/**
 * Reading README.md for the tests that hold it to the code (test/build/readme*.test.ts): lines,
 * paragraphs, tables and sections, each addressed by README line so a failure names the line
 * that is false.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory, with a trailing separator. */
export const root = fileURLToPath(new URL('../../', import.meta.url));

/** README.md, one entry per line. */
export const readme = readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');

/** `README.md:N`, for messages; `line` is 1-based. */
export const at = (line: number): string => `README.md:${line}`;

/** The 1-based line of the first README line that contains `text` (after line `after`). */
export function lineOf(text: string, after = 0): number {
  const index = readme.findIndex((line, i) => i >= after && line.includes(text));
  if (index === -1) throw new Error(`README.md has no line with ${JSON.stringify(text)}`);
  return index + 1;
}

/** The paragraph that starts on `line` (1-based), joined into one line. */
export function paragraph(line: number): string {
  const end = readme.findIndex((text, i) => i >= line && text.trim() === '');
  return readme
    .slice(line - 1, end === -1 ? undefined : end)
    .map((text) => text.trim())
    .join(' ');
}

/** The backticked names in `text`, in order. */
export const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

export interface Row {
  /** README line of the row. */
  readonly line: number;
  readonly cells: string[];
}

/** A table row's cells (`\|` inside a cell is not a border). */
const cellsOf = (text: string): string[] =>
  text
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((cell) => cell.trim().replaceAll('\\|', '|'));

/** The first table after `heading`: its header row and its body rows. */
export function table(heading: string): { header: Row; rows: Row[] } {
  const start = lineOf(heading);
  const first = readme.findIndex((text, i) => i >= start && text.startsWith('|'));
  const rows: Row[] = [];
  for (let i = first + 2; readme[i]?.startsWith('|'); i++) rows.push({ line: i + 1, cells: cellsOf(readme[i] ?? '') });
  return { header: { line: first + 1, cells: cellsOf(readme[first] ?? '') }, rows };
}

/** The rows of the first table after `heading`. */
export const tableAfter = (heading: string): Row[] => table(heading).rows;

/** The lines of the `## ` section titled `title`, up to the next `## ` heading, with their numbers. */
export function section(title: string): { line: number; text: string }[] {
  const start = lineOf(`## ${title}`);
  const lines: { line: number; text: string }[] = [];
  for (let i = start; i < readme.length && !/^## /.test(readme[i] ?? ''); i++)
    lines.push({ line: i + 1, text: readme[i] ?? '' });
  return lines;
}

/**
 * Where `pattern` matches README, a line break counting as a space (so a phrase may wrap): the
 * line it starts on and its groups, or undefined.
 */
export function find(pattern: RegExp): { line: number; groups: string[] } | undefined {
  // Lines trimmed and joined by one space, so a wrapped, indented list item reads as one line.
  const lines = readme.map((text) => text.trim());
  const starts: number[] = [];
  let offset = 0;
  for (const text of lines) {
    starts.push(offset);
    offset += text.length + 1;
  }
  const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(lines.join(' '));
  if (!match) return undefined;
  const line = starts.filter((start) => start <= match.index).length;
  return { line, groups: match.slice(1).map((g) => g ?? '') };
}

/**
 * The number an amount in README's words stands for, in ms, bytes or items: `3.5 s`, `5 min`,
 * `a day`, `2 minutes`, `50 ms`, `16 MiB`, `10,000`, `40%` (0.4), `Four thousand`. NaN if it is none.
 */
export function amount(text: string): number {
  const words: Record<string, number> = { a: 1, an: 1, one: 1, two: 2, four: 4, ten: 10 };
  const units: Record<string, number> = {
    ms: 1,
    s: 1000,
    second: 1000,
    seconds: 1000,
    min: 60_000,
    minute: 60_000,
    minutes: 60_000,
    hour: 3_600_000,
    hours: 3_600_000,
    day: 86_400_000,
    days: 86_400_000,
    thousand: 1000,
    KiB: 1024,
    MiB: 1 << 20,
    '%': 0.01,
  };
  const match = /^([\d.,]+|[A-Za-z]+)\s*([A-Za-z%]+)?$/.exec(text.trim());
  if (!match) return NaN;
  const [, count = '', unit] = match;
  const n = /^[\d.,]+$/.test(count) ? Number(count.replaceAll(',', '')) : (words[count.toLowerCase()] ?? NaN);
  if (unit === undefined) return n;
  const factor = units[unit];
  return factor === undefined ? NaN : n * factor;
}
