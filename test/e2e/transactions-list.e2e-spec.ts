import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import { FILTER_ROWS, RIVAL_ROWS } from '../list-fixtures';
import { createTx, TX, type TxBody } from '../transactions';

// jest-circus reads testTimeout only from the top-level config, not from the e2e project's,
// so hooks that start the app would otherwise get 5 s on a busy machine.
jest.setTimeout(60_000);

describe('transactions list: query validation, filters, isolation', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app?.stop());

  const get = (user: TestUser, query: string) => app.http().get(`${TX}?${query}`).set(bearer(user));
  const ids = async (user: TestUser, query: string): Promise<string[]> => {
    const res = await get(user, `limit=100&${query}`).expect(200);
    return (res.body.data as TxBody[]).map((r) => r.id);
  };

  describe('query validation', () => {
    let analyst: TestUser;
    beforeAll(async () => {
      analyst = await createUser(app, admin, 'analyst');
    });

    it.each([
      ['an unknown parameter (a typo)', 'catgory=x', 'catgory'],
      ['a repeated parameter', 'type=income&type=expense', 'type'],
      ['from after to', 'from=2026-02-01&to=2026-01-31', 'from'],
      ['minAmount above maxAmount', 'minAmount=10.01&maxAmount=10', 'minAmount'],
      ['both page and cursor', 'page=1&cursor=', 'cursor'],
      [
        'a forged cursor',
        'cursor=eyJzIjoiLWRhdGUiLCJ2IjoiMjAyNi0wMS0wMSIsImlkIjoiMSJ9.AAAA',
        'cursor',
      ],
      ['limit 0', 'limit=0', 'limit'],
      ['limit 101', 'limit=101', 'limit'],
      ['sorting by a column not offered', 'sort=-notes', 'sort'],
      ['a sort with SQL appended', 'sort=date;drop', 'sort'],
      ['an impossible date', 'from=2025-02-30', 'from'],
      [
        'an amount bound with four decimals (no currency has more than three)',
        'minAmount=0.0001',
        'minAmount',
      ],
      [
        'an amount bound with more decimals than the currency filtered by',
        'currency=USD&maxAmount=0.001',
        'maxAmount',
      ],
      [
        'an amount bound with a decimal point for a currency without minor units',
        'currency=JPY&minAmount=1.0',
        'minAmount',
      ],
      ['an empty category', 'category=%20', 'category'],
    ])('refuses %s with a 400 naming the parameter', async (_name, query, field) => {
      expectProblem(await get(analyst, query), 400, [field]);
    });

    it.each(['type[]=income', 'type[0]=income', 'type[a]=income'])(
      'refuses the array- or object-shaped parameter %s',
      async (query) => {
        const res = await get(analyst, query);
        expectProblem(res, 400);
        expect(fieldsOf(res)).toEqual([expect.stringMatching(/^type/)]);
      },
    );

    it('lists every offending parameter at once', async () => {
      const res = await get(analyst, 'type=x&limit=0&from=2026-13-01');
      expectProblem(res, 400, ['from', 'limit', 'type']);
      expect(fieldsOf(res)).toHaveLength(3);
    });

    it('filters by a category of 64 emoji, counting code points as the category does', async () => {
      const category = '🍕'.repeat(64);
      const created = await createTx(app, analyst, { category });
      expect(await ids(analyst, `category=${encodeURIComponent(category)}`)).toEqual([created.id]);
    });

    it('accepts a q of 100 code points and refuses 101', async () => {
      await get(analyst, `q=${encodeURIComponent('🍕'.repeat(100))}`).expect(200);
      expectProblem(await get(analyst, `q=${'a'.repeat(101)}`), 400, ['q']);
    });

    it('answers 400, not 500, to a q or category containing U+0000', async () => {
      expectProblem(await get(analyst, 'q=a%00b'), 400);
      expectProblem(await get(analyst, 'category=a%00b'), 400);
    });
  });

  describe('filters', () => {
    let owner: TestUser;
    let rival: TestUser;
    const row: Record<string, TxBody> = {};

    beforeAll(async () => {
      [owner, rival] = await Promise.all([
        createUser(app, admin, 'analyst'),
        createUser(app, admin, 'analyst'),
      ]);
      const spec: Record<string, Record<string, unknown>> = FILTER_ROWS;
      for (const [name, body] of Object.entries(spec)) row[name] = await createTx(app, owner, body);
      await app.http().delete(`${TX}/${row.gone.id}`).set(bearer(admin)).expect(204);
      for (const body of RIVAL_ROWS) await createTx(app, rival, body);
    });

    it.each([
      ['ownerId naming itself', (u: TestUser) => `ownerId=${u.id}`],
      ['deleted=exclude', () => 'deleted=exclude'],
      ['deleted=include', () => 'deleted=include'],
    ])('forbids a non-admin to send %s', async (_name, query) => {
      expectProblem(await get(owner, query(owner)), 403);
      const viewer = await createUser(app, admin, 'viewer');
      expectProblem(await get(viewer, query(viewer)), 403);
    });

    describe('ownership isolation', () => {
      it('answers 404 when either analyst asks for the other’s row', async () => {
        const [theirs] = await ids(rival, '');
        expectProblem(await app.http().get(`${TX}/${theirs}`).set(bearer(owner)), 404);
        expectProblem(await app.http().get(`${TX}/${row.lunch.id}`).set(bearer(rival)), 404);
      });
    });
  });
});
