import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { expectedOrder, type Keys, type Sort } from '../list-order';
import { createTx, TX, type TxBody } from '../transactions';

// jest-circus reads testTimeout only from the top-level config, not from the e2e project's,
// so hooks that start the app would otherwise get 5 s on a busy machine.
jest.setTimeout(60_000);

const PAGE_SORTS: Sort[] = ['-date', 'amount', 'createdAt'];
const BULK_SQL = 300;
const BULK_API = 15;
const LIVE = BULK_SQL + BULK_API;

describe('transactions list: sorting and pagination', () => {
  let app: TestApp;
  let admin: TestUser;
  let bulk: TestUser;
  let bulkKeys: Keys[];

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    bulk = await createUser(app, admin, 'analyst');
    const rival = await createUser(app, admin, 'analyst');

    // Few distinct dates, amounts and creation instants, so nearly every row ties with others;
    // amounts whose text order differs from their numeric order; ten extra rows soft-deleted.
    await app.sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes, created_at, deleted_at)
       SELECT $1,
         (CASE WHEN i % 3 = 0 THEN 'income' ELSE 'expense' END)::transaction_type,
         round((ARRAY[5, 10, 100, 9.99, 1000, 0.5, 20])[i % 7 + 1], 2), 'USD',
         (ARRAY['Food', 'Rent', 'Travel', 'Fun'])[i % 4 + 1],
         DATE '2026-01-01' + (i % 10),
         'bulk ' || i,
         TIMESTAMPTZ '2026-01-01 00:00:00+00' + (i % 25) * INTERVAL '1001 microseconds',
         CASE WHEN i > $2 THEN now() END
       FROM generate_series(1, $2 + 10) AS i`,
      [bulk.id, BULK_SQL],
    );
    await Promise.all(
      Array.from({ length: BULK_API }, (_, k) =>
        createTx(app, bulk, {
          date: `2026-01-0${(k % 9) + 1}`,
          amount: ['5', '10.00', '1000'][k % 3],
          type: k % 2 ? 'income' : 'expense',
        }),
      ),
    );
    await Promise.all([createTx(app, rival), createTx(app, rival, { date: '2026-01-05' })]);
    bulkKeys = await liveKeys(bulk.id);
    expect(bulkKeys).toHaveLength(LIVE);
  });
  afterAll(() => app?.stop());

  const get = (user: TestUser, query: string) => app.http().get(`${TX}?${query}`).set(bearer(user));
  /** The live rows of one owner (or of everyone, with null), as raw sort keys. */
  async function liveKeys(ownerId: string | null, notesLike = '%'): Promise<Keys[]> {
    const res = await app.sql.query(
      `SELECT id::text AS id, date::text AS date, amount::text AS amount,
         (extract(epoch FROM created_at) * 1000000)::bigint::text AS micros
       FROM transactions
       WHERE ($1::uuid IS NULL OR owner_id = $1) AND deleted_at IS NULL
         AND coalesce(notes, '') LIKE $2`,
      [ownerId, notesLike],
    );
    return res.rows as Keys[];
  }

  /** Follows pages 1, 2, … until the last one, collecting ids and every meta. */
  async function walkPages(user: TestUser, query: string, limit: number) {
    const all: string[] = [];
    const metas: unknown[] = [];
    for (let page = 1; page <= 100; page++) {
      const res = await get(user, `${query}&limit=${limit}&page=${page}`).expect(200);
      all.push(...(res.body.data as TxBody[]).map((r) => r.id));
      metas.push(res.body.meta);
      if (page >= res.body.meta.totalPages) break;
    }
    return { ids: all, metas };
  }

  /** Starts with `cursor=` and follows `nextCursor` until it is null. */
  async function walkCursor(user: TestUser, query: string, limit: number) {
    const all: string[] = [];
    const pages: { size: number; meta: { limit: number; nextCursor: string | null } }[] = [];
    let cursor = '';
    for (let i = 0; i < 100; i++) {
      const res = await get(
        user,
        `${query}&limit=${limit}&cursor=${encodeURIComponent(cursor)}`,
      ).expect(200);
      all.push(...(res.body.data as TxBody[]).map((r) => r.id));
      pages.push({ size: res.body.data.length, meta: res.body.meta });
      if (res.body.meta.nextCursor === null) break;
      cursor = res.body.meta.nextCursor;
    }
    return { ids: all, pages };
  }

  describe('page mode', () => {
    it('defaults to page 1 of 20 and reports the totals', async () => {
      const res = await get(bulk, '').expect(200);
      expect(res.body.meta).toEqual({ page: 1, limit: 20, total: LIVE, totalPages: 16 });
      expect(res.body.data).toHaveLength(20);
    });

    it.each(PAGE_SORTS)(
      'walks every live row exactly once, in sort=%s order, with a correct meta on each page',
      async (sort) => {
        const limit = 17;
        const totalPages = Math.ceil(LIVE / limit);
        const walk = await walkPages(bulk, `sort=${sort}`, limit);
        expect(walk.metas).toEqual(
          Array.from({ length: totalPages }, (_, i) => ({
            page: i + 1,
            limit,
            total: LIVE,
            totalPages,
          })),
        );
        expect(new Set(walk.ids).size).toBe(walk.ids.length);
        expect(walk.ids).toEqual(expectedOrder(bulkKeys, sort));
      },
    );

    it('answers a page past the end with no rows and the same totals', async () => {
      const res = await get(bulk, 'limit=50&page=8').expect(200);
      expect(res.body).toEqual({
        data: [],
        meta: { page: 8, limit: 50, total: LIVE, totalPages: 7 },
      });
    });
  });

  describe('cursor mode', () => {
    it.each(PAGE_SORTS)(
      'walks from cursor= to a null nextCursor in sort=%s order, the same as page mode',
      async (sort) => {
        // 315 rows at 21 a page end exactly on a page boundary: the 15th page must say null.
        const limit = 21;
        const walk = await walkCursor(bulk, `sort=${sort}`, limit);
        expect(walk.pages).toHaveLength(LIVE / limit);
        walk.pages.forEach((p, i) => {
          expect(p.size).toBe(limit);
          expect(p.meta.limit).toBe(limit);
          if (i < walk.pages.length - 1) expect(typeof p.meta.nextCursor).toBe('string');
          else expect(p.meta.nextCursor).toBeNull();
        });
        expect(new Set(walk.ids).size).toBe(LIVE);
        expect(walk.ids).toEqual(expectedOrder(bulkKeys, sort));
        expect(walk.ids).toEqual((await walkPages(bulk, `sort=${sort}`, limit)).ids);
      },
    );

    it('walks a filtered list, ending with a short page', async () => {
      const walk = await walkCursor(bulk, 'sort=-amount&type=income&minAmount=10', 40);
      const res = await app.sql.query(
        `SELECT id::text AS id FROM transactions
         WHERE owner_id = $1 AND deleted_at IS NULL AND type = 'income' AND amount >= 10`,
        [bulk.id],
      );
      const wanted = new Set(res.rows.map((r: { id: string }) => r.id));
      const expected = expectedOrder(
        bulkKeys.filter((k) => wanted.has(k.id)),
        '-amount',
      );
      expect(expected.length % 40).not.toBe(0);
      expect(walk.ids).toEqual(expected);
      expect(walk.pages[walk.pages.length - 1].size).toBe(expected.length % 40);
    });

    // No index orders every owner's rows by amount or createdAt, so here the database really sorts,
    // and only the id tie-break makes the order (and the pages) deterministic.
    it.each(['amount', '-createdAt'] as Sort[])(
      'walks an admin’s list of every owner in sort=%s order, in page and cursor mode alike',
      async (sort) => {
        const expected = expectedOrder(await liveKeys(null), sort);
        expect(expected.length).toBeGreaterThan(LIVE);
        expect((await walkPages(admin, `sort=${sort}`, 50)).ids).toEqual(expected);
        expect((await walkCursor(admin, `sort=${sort}`, 50)).ids).toEqual(expected);
      },
    );

    it('refuses a cursor issued for another sort order', async () => {
      const first = await get(bulk, 'sort=-date&limit=5&cursor=').expect(200);
      const cursor = encodeURIComponent(first.body.meta.nextCursor);
      for (const sort of ['amount', 'createdAt', 'date']) {
        expectProblem(await get(bulk, `sort=${sort}&limit=5&cursor=${cursor}`), 400, ['cursor']);
      }
      await get(bulk, `sort=-date&limit=5&cursor=${cursor}`).expect(200);
    });

    it('refuses a cursor whose payload or signature was altered', async () => {
      const first = await get(bulk, 'sort=amount&limit=5&cursor=').expect(200);
      const [body, signature] = (first.body.meta.nextCursor as string).split('.');
      const state = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      const forgedBody = Buffer.from(JSON.stringify({ ...state, v: '0.00' })).toString('base64url');
      const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
      for (const cursor of [`${forgedBody}.${signature}`, `${body}.${flipped}`, body, 'garbage']) {
        const res = await get(bulk, `sort=amount&limit=5&cursor=${encodeURIComponent(cursor)}`);
        expectProblem(res, 400, ['cursor']);
      }
    });
  });
});
