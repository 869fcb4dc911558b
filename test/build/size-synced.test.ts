// The README's "Size" statement must say what size-budgets.json enforces (nanoevents'
// size-synced test): a budget lowered without the README, or a README claim without a budget,
// fails here. The measuring itself is `npm run size` (scripts/size.mjs), run in .ci/run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

interface Budget {
  readonly name: string;
  readonly limit: string;
  readonly target?: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { budgets } = JSON.parse(readFileSync(path.join(root, 'size-budgets.json'), 'utf8')) as { budgets: Budget[] };
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

/** The paragraph that starts with "**Size**", joined into one line. */
function sizeStatement(): string {
  const start = readme.indexOf('\n**Size**');
  if (start === -1) return '';
  const end = readme.indexOf('\n\n', start + 1);
  return readme.slice(start + 1, end === -1 ? undefined : end).replace(/\s*\n\s*/g, ' ');
}

describe('README size statement', () => {
  const statement = sizeStatement();

  it('exists', () => {
    expect(statement).not.toBe('');
    expect(budgets.length).toBeGreaterThan(0);
  });

  it.each(budgets)('states the limit and target of $name', ({ name, limit, target }) => {
    const at = statement.indexOf(`\`${name}\``);
    expect(at, `README "Size" paragraph names \`${name}\``).toBeGreaterThanOrEqual(0);
    // The first size after the name, before the next budget's name, is this budget's.
    const rest = statement.slice(at + name.length + 2);
    const next = Math.min(...budgets.map((b) => rest.indexOf(`\`${b.name}\``)).filter((i) => i >= 0), rest.length);
    const sizes = rest.slice(0, next).match(/\d+(?:\.\d+)?\s?KB/g) ?? [];
    expect(sizes[0]).toBe(limit);
    if (target !== undefined) expect(sizes[1]).toBe(target);
  });

  it('states no size that is not a budget', () => {
    const stated = (statement.match(/\d+(?:\.\d+)?\s?KB/g) ?? []).sort();
    expect(stated).toEqual(budgets.flatMap((b) => (b.target === undefined ? [b.limit] : [b.limit, b.target])).sort());
  });
});
