/** The few API calls the benchmark's setup needs, over fetch (keep-alive by default). */

interface ListPage {
  data: { id: string }[];
  meta: { total?: number; nextCursor?: string | null };
}

export class Api {
  constructor(private readonly baseUrl: string) {}

  async login(email: string, password: string): Promise<{ token: string; userId: string }> {
    const res = await fetch(`${this.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = (await res.json()) as { accessToken?: string; user?: { id: string } };
    if (res.status !== 200 || !body.accessToken || !body.user) {
      throw new Error(
        `login as ${email} answered ${res.status}: ${JSON.stringify(body)} (run \`npm run bench:data\` first)`,
      );
    }
    return { token: body.accessToken, userId: body.user.id };
  }

  async list(token: string, query: string): Promise<ListPage> {
    const res = await fetch(`${this.baseUrl}/api/v1/transactions?${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as ListPage;
    if (res.status !== 200) {
      throw new Error(`GET /transactions?${query} answered ${res.status}: ${JSON.stringify(body)}`);
    }
    return body;
  }

  /** One GET, timed from send to the last byte of the body; anything but 200 is an error. */
  async timed(token: string, path: string): Promise<number> {
    const start = performance.now();
    const res = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.text();
    const ms = performance.now() - start;
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body}`);
    return Math.round(ms * 100) / 100;
  }

  /**
   * Waits until the app has worked off what a scenario left queued: the readiness check pings the
   * database through the same pool, so it answers 200 only once the queue has drained.
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${this.baseUrl}/health/ready`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // keep trying until the deadline
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the app did not drain its queue within ${timeoutMs / 1000} s`);
  }
}
