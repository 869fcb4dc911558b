/**
 * A scripted fetch for long-polling units: no network; every request waits until the test
 * answers it (`respond`, `fail`), and an aborted signal rejects it the way fetch does.
 */
/** One request the transport made; the test answers it. */
export interface FakeRequest {
  readonly method: string;
  readonly url: string;
  readonly body: string | undefined;
  readonly init: RequestInit;
  settled: boolean;
  aborted: boolean;
  respond(status: number, body?: string): void;
  fail(error?: Error): void;
}

/** A scripted fetch: no network, every request waits until the test answers it. */
export class FakeFetch {
  readonly requests: FakeRequest[] = [];
  readonly fn = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const req: FakeRequest = {
        method: init.method ?? 'GET',
        url: String(input),
        body: typeof init.body === 'string' ? init.body : undefined,
        init,
        settled: false,
        aborted: false,
        respond(status, body = '') {
          if (req.settled) return;
          req.settled = true;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            body: null,
            text: () => Promise.resolve(body),
          } as unknown as Response);
        },
        fail(error = new TypeError('fetch failed')) {
          if (req.settled) return;
          req.settled = true;
          reject(error);
        },
      };
      init.signal?.addEventListener('abort', () => {
        if (req.settled) return;
        req.aborted = true;
        req.fail(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }));
      });
      this.requests.push(req);
    });

  pending(method?: string): FakeRequest[] {
    return this.requests.filter((r) => !r.settled && (method === undefined || r.method === method));
  }

  /** Requests of `method` on a connection (with a `?c=` id), settled or not. */
  of(method: string): FakeRequest[] {
    return this.requests.filter((r) => r.method === method && new URL(r.url).searchParams.has('c'));
  }

  /** The only pending request of `method` (fails the test when there are none or several). */
  one(method: string, withC = true): FakeRequest {
    const found = this.pending(method).filter((r) => new URL(r.url).searchParams.has('c') === withC);
    if (found.length !== 1) throw new Error(`expected one pending ${method}, found ${found.length}`);
    return found[0] as FakeRequest;
  }
}

/** Lets every promise chain that can make progress do so (no timers involved). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}
