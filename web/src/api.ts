/**
 * The page's only way to the server: the public JSON API under /api/v1, same origin. Tokens live
 * in this object only (no cookie, no storage): the access token goes out as a Bearer header, and
 * a 401 exchanges the refresh token once for a new pair (each refresh token works once, so
 * concurrent requests share one exchange) and retries. When the exchange fails the session has
 * ended and the caller is sent back to sign-in.
 */
import type { Problem, Session, User } from './types';

const BASE = '/api/v1';

/** An answer other than 2xx, with the problem body and the wait the server asked for. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** Seconds, from `Retry-After` (429, 503). */
    readonly retryAfter: number | undefined,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The session ended (refresh token expired, revoked or reused): sign in again. */
export class SessionEnded extends Error {
  constructor() {
    super('Your session has ended. Sign in again.');
  }
}

export class Api {
  private session: Session | undefined;
  private refreshing: Promise<void> | undefined;

  get user(): User | undefined {
    return this.session?.user;
  }

  async login(email: string, password: string): Promise<User> {
    const res = await send('POST', '/auth/login', { body: { email, password } });
    this.session = (await res.json()) as Session;
    return this.session.user;
  }

  /** Revokes the refresh token's family, then forgets both tokens whatever the answer. */
  async logout(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) {
      await send('POST', '/auth/logout', { body: { refreshToken: session.refreshToken } }).catch(
        () => undefined,
      );
    }
  }

  /**
   * For `pagehide`: the tokens die with the page, so their family is revoked too. `keepalive`
   * lets the request outlive the page.
   */
  logoutOnLeave(): void {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    void fetch(`${BASE}/auth/logout`, {
      method: 'POST',
      keepalive: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    }).catch(() => undefined);
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const session = this.session;
    if (!session) throw new SessionEnded();
    try {
      return (await (await send('GET', path, { query, token: session.accessToken })).json()) as T;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
    await this.refresh(session);
    const current = this.session;
    if (!current) throw new SessionEnded();
    try {
      return (await (await send('GET', path, { query, token: current.accessToken })).json()) as T;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.session = undefined;
        throw new SessionEnded();
      }
      throw error;
    }
  }

  /** One exchange at a time; a request that failed with an older token just retries. */
  private refresh(stale: Session): Promise<void> {
    if (this.session !== stale) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const res = await send('POST', '/auth/refresh', {
          body: { refreshToken: stale.refreshToken },
        });
        this.session = (await res.json()) as Session;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
          this.session = undefined;
          throw new SessionEnded();
        }
        throw error;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

async function send(
  method: 'GET' | 'POST',
  path: string,
  options: { query?: Record<string, string | number | undefined>; body?: unknown; token?: string },
): Promise<Response> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString() ? `?${params.toString()}` : '';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${BASE}${path}${search}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: 'no-store',
  });
  if (res.ok) return res;
  const problem = (await res.json().catch(() => ({}))) as Problem;
  const wait = Number(res.headers.get('retry-after'));
  throw new ApiError(res.status, problem, Number.isFinite(wait) && wait > 0 ? wait : undefined);
}
