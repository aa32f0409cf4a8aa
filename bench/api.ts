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

/** One JSON request to the API; an answer of 300 or more is an error that quotes it. */
export async function call(
  url: string,
  method: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
  return {
    status: res.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

/**
 * A new analyst for a bench that fills its own data (`api`: the app's `/api/v1` URL), created by
 * `admin`, with a unique email from `label`; signed in.
 */
export async function freshAnalyst(
  api: string,
  admin: { email: string; password: string },
  label: string,
): Promise<{ userId: string; token: string }> {
  const adminToken = (await call(`${api}/auth/login`, 'POST', undefined, admin)).json
    .accessToken as string;
  const email = `${label}-${Date.now()}@example.com`;
  const password = `${label}-analyst-1`;
  const user = await call(`${api}/users`, 'POST', adminToken, {
    name: label,
    email,
    password,
    role: 'analyst',
  });
  const token = (await call(`${api}/auth/login`, 'POST', undefined, { email, password })).json
    .accessToken as string;
  return { userId: user.json.id as string, token };
}
