import { randomBytes } from 'node:crypto';
import { createFinanceClient, type FinanceClient, type Schemas } from '../../clients/typescript';
import { ADMIN, startApp, type TestApp } from '../app';
import { contractViolations } from '../contract';
import { usdSummary } from '../dashboard-helpers';

/**
 * A whole session through the generated client (clients/typescript: openapi-typescript types over
 * openapi-fetch), so the document is proven against the running server, not only linted: every
 * call below type-checks against openapi.json, and every response it gets is checked against the
 * same document (status, media type, body schema).
 */
describe('typed client (clients/typescript)', () => {
  let app: TestApp;
  let api: FinanceClient;
  let token: string | undefined;
  const violations: string[] = [];

  beforeAll(async () => {
    app = await startApp();
    api = createFinanceClient({ baseUrl: app.url, accessToken: () => token });
    api.use({
      async onResponse({ request, response }) {
        const text = await response.clone().text();
        const type = response.headers.get('content-type') ?? '';
        const found = contractViolations(request.method.toLowerCase(), request.url, {
          status: response.status,
          headers: { 'content-type': type || undefined },
          body: /json/.test(type) && text ? JSON.parse(text) : undefined,
          text,
        });
        violations.push(...found.map((v) => `${request.method} ${request.url}: ${v}`));
        return response;
      },
    });
  });
  afterAll(() => app.stop());
  afterEach(() => expect(violations).toEqual([]));

  async function loginAs(email: string, password: string): Promise<Schemas['TokenResponse']> {
    const { data, error, response } = await api.POST('/api/v1/auth/login', {
      body: { email, password },
    });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    token = data!.accessToken;
    return data!;
  }

  const created: Schemas['TransactionResponse'][] = [];

  it('logs in, and an admin creates an analyst who logs in too', async () => {
    const admin = await loginAs(ADMIN.email, ADMIN.password);
    expect(admin.user.role).toBe('admin');
    const email = `client-${randomBytes(4).toString('hex')}@test.local`;
    const password = 'a-client-password';
    const { data: user, response } = await api.POST('/api/v1/users', {
      body: { name: 'Client Analyst', email, password, role: 'analyst' },
    });
    expect(response.status).toBe(201);
    expect(user).toMatchObject({ email, role: 'analyst', isActive: true });
    const analyst = await loginAs(email, password);
    expect(analyst.user.id).toBe(user!.id);
    const { data: me } = await api.GET('/api/v1/auth/me');
    expect(me?.email).toBe(email);
  });

  it('creates transactions, with exact decimal amounts', async () => {
    const rows: Schemas['CreateTransactionDto'][] = [
      { type: 'expense', amount: '42.5', category: 'Groceries', date: '2026-03-02' },
      { type: 'expense', amount: '9.99', category: 'Groceries', date: '2026-03-09' },
      { type: 'expense', amount: '120', category: 'groceries', date: '2026-03-16', notes: 'party' },
      { type: 'expense', amount: '800.00', category: 'Rent', date: '2026-03-01' },
      { type: 'income', amount: '2500.00', category: 'Salary', date: '2026-03-01' },
    ];
    for (const body of rows) {
      const { data, response } = await api.POST('/api/v1/transactions', {
        body,
        params: { header: { 'Idempotency-Key': `client-${randomBytes(6).toString('hex')}` } },
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe(`/api/v1/transactions/${data!.id}`);
      created.push(data!);
    }
    expect(created.map((t) => t.amount)).toEqual(['42.50', '9.99', '120.00', '800.00', '2500.00']);
  });

  it('lists with filters and sort in page mode', async () => {
    const { data, response } = await api.GET('/api/v1/transactions', {
      params: {
        query: {
          type: 'expense',
          category: 'GROCERIES',
          from: '2026-03-01',
          to: '2026-03-31',
          minAmount: '9.00',
          sort: '-amount',
          limit: 2,
          page: 1,
        },
      },
    });
    expect(response.status).toBe(200);
    expect(data!.data.map((t) => t.amount)).toEqual(['120.00', '42.50']);
    expect(data!.meta).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect(response.headers.get('ratelimit-limit')).toMatch(/^\d+$/);
  });

  it('walks every row with the cursor, two at a time', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      // Annotated: `cursor` feeds the call and comes back from it, too circular to infer.
      const { data }: { data?: Schemas['TransactionListResponse'] } = await api.GET(
        '/api/v1/transactions',
        {
          params: { query: { cursor, limit: 2, sort: 'date' } },
        },
      );
      const meta: Schemas['PageMeta'] | Schemas['CursorMeta'] = data!.meta;
      if (!('nextCursor' in meta)) throw new Error('expected cursor mode');
      seen.push(...data!.data.map((t) => t.id));
      cursor = meta.nextCursor;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(created.map((t) => t.id).sort());
  });

  it('reads the dashboard summary and the whole dashboard', async () => {
    const { data: summary } = await api.GET('/api/v1/dashboard/summary', {
      params: { query: { from: '2026-03-01', to: '2026-03-31' } },
    });
    expect(summary).toEqual(usdSummary('2500.00', '972.49', '1527.51', 5));
    const { data: dashboard } = await api.GET('/api/v1/dashboard', {
      params: { query: { from: '2026-03-01', to: '2026-03-31' } },
    });
    expect(dashboard!.summary).toEqual(summary);
    expect(dashboard!.recent.length).toBeGreaterThan(0);
  });

  it('gets errors as problem+json bodies in `error`', async () => {
    const invalid = await api.GET('/api/v1/transactions/{id}', {
      params: { path: { id: 'not-a-uuid' } },
    });
    expect(invalid.data).toBeUndefined();
    expect(invalid.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(invalid.error).toMatchObject({ status: 400, title: 'Bad Request' });
    expect(invalid.error!.errors).toEqual([{ field: 'id', message: 'id must be a UUID' }]);

    const forbidden = await api.GET('/api/v1/users');
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.error).toMatchObject({ status: 403, instance: '/api/v1/users' });
    expect(forbidden.error!.requestId).toBe(forbidden.response.headers.get('x-request-id'));

    token = undefined;
    const anonymous = await api.GET('/api/v1/transactions/export', { parseAs: 'text' });
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
