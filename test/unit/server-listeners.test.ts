import { describe, expect, it } from 'vitest';
import { Listeners } from '../../src/server/listeners.js';

describe('server Listeners.final()', () => {
  it('calls every listener once, then a listener added for that event (even during the emit) in a microtask; no other', async () => {
    const errors: unknown[] = [];
    const l = new Listeners((error) => errors.push(error));
    const heard: string[] = [];
    l.on('end', (p: never) => {
      heard.push(`first ${String(p)}`);
      l.on('end', (q: never) => heard.push(`added during ${String(q)}`));
    });
    l.on('other', () => heard.push('other'));
    l.final('end', 'why');
    l.on('end', (p: never) => heard.push(`added after ${String(p)}`));
    l.on('other', () => heard.push('other after'));
    const off = l.on('end', () => heard.push('removed'));
    off();
    l.emit('other', 1);
    l.on('end', () => {
      throw new Error('late');
    });
    expect(heard).toEqual(['first why']);
    await Promise.resolve();
    expect(heard).toEqual(['first why', 'added during why', 'added after why']);
    expect(errors).toEqual([new Error('late')]);
  });
});
