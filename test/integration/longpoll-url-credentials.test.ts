import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const { server, client } = useHarness({ transports: ['longpoll'] });

describe('long polling: credentials in the URL', () => {
  it('opens with Node’s fetch (which refuses URLs with credentials) and sends them as Basic auth', async () => {
    const seen: (string | undefined)[] = [];
    const s = await server({
      authenticate: (_token, req) => {
        seen.push(`${req.url} ${req.headers.authorization}`);
        return 'ann';
      },
    });
    const c = client(s.url.replace('://', '://ann:s%C3%A9same@'));
    await expect(c.waitFor('open', { timeoutMs: 5000 })).resolves.toEqual({ transport: 'longpoll', resumed: false });
    expect(seen).toEqual([`/realtime/poll Basic ${Buffer.from('ann:sésame').toString('base64')}`]);
    expect(await c.ping()).toBeGreaterThanOrEqual(0);
  });
});
