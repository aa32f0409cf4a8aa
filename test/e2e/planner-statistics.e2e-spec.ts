import { startApp, type TestApp } from '../app';
import { create, postBatch } from '../batch-helpers';
import { IMPORT, IMPORT_HEADER } from '../csv-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { readUntil } from '../waits';

/**
 * A bulk write refreshes the planner's statistics itself (docs/operations.md, "Planner
 * statistics"): with autovacuum off on the table, a 200k-row import leaves `transactions`
 * analyzed within moments of its response, so the next list is planned on the index at once.
 */
const ROWS = 200_000;
const CATEGORIES = Array.from({ length: 20 }, (_, k) => `Category ${k}`);

/** The planner's row count of the table; -1 until something has analyzed it. */
const plannerRows = async (app: TestApp) =>
  (
    await app.sql.query<{ rows: number }>(
      `SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'transactions'::regclass`,
    )
  ).rows[0].rows;

describe('planner statistics after a bulk import', () => {
  let app: TestApp;
  let owner: TestUser;

  beforeAll(async () => {
    app = await startApp();
    const admin = await loginAdmin(app);
    owner = await createUser(app, admin, 'analyst');
    await app.sql.query('ALTER TABLE transactions SET (autovacuum_enabled = false)');
  });
  afterAll(() => app?.stop());

  it('analyzes the table right after a 200k-row import, and the list uses its index', async () => {
    expect(await plannerRows(app)).toBe(-1);
    const body = [IMPORT_HEADER];
    for (let i = 0; i < ROWS; i++) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      const month = String(1 + (i % 12)).padStart(2, '0');
      body.push(`2025-${month}-${day},expense,${1 + (i % 500)}.25,${CATEGORIES[i % 20]},row ${i}`);
    }
    const res = await app
      .http()
      .post(IMPORT)
      .set(bearer(owner))
      .set('Content-Type', 'text/csv')
      .send(`${body.join('\n')}\n`);
    expect(res.status).toBe(201);
    expect(res.body.imported).toBe(ROWS);

    // In the background after the commit: a bounded wait, not a timing assertion.
    const counted = await readUntil(
      () => plannerRows(app),
      (rows) => rows > ROWS * 0.9,
      { ms: 30_000 },
    );
    expect(counted).toBeGreaterThan(ROWS * 0.9);

    const { rows } = await app.sql.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM transactions
       WHERE deleted_at IS NULL AND owner_id = $1 AND lower(category) = 'category 7'
       ORDER BY date DESC, id DESC LIMIT 20`,
      [owner.id],
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('transactions_owner_category_idx');
    expect(plan).not.toContain('Seq Scan');
  }, 180_000);
});

describe('planner statistics after a batch and after the trash purge', () => {
  let app: TestApp;
  let owner: TestUser;

  beforeAll(async () => {
    app = await startApp({ TRASH_RETENTION_DAYS: '0' });
    const admin = await loginAdmin(app);
    owner = await createUser(app, admin, 'analyst');
    await app.sql.query('ALTER TABLE transactions SET (autovacuum_enabled = false)');
  });
  afterAll(() => app?.stop());

  const batchOf = async (n: number) => {
    const res = await postBatch(app, owner, {
      operations: Array.from({ length: n }, () => create()),
    });
    expect(res.status).toBe(200);
  };

  it('a batch that is more than a tenth of the table analyzes it; a smaller one does not', async () => {
    await batchOf(300);
    expect(
      await readUntil(
        () => plannerRows(app),
        (rows) => rows === 300,
      ),
    ).toBe(300);
    await batchOf(20); // 20 of 320: not due
    await batchOf(100); // 100 of 420: due, and its sample counts the 20 as well
    expect(
      await readUntil(
        () => plannerRows(app),
        (rows) => rows !== 300,
      ),
    ).toBe(420);
    const { rows } = await app.sql.query<{ n: number }>(
      `SELECT analyze_count::int AS n FROM pg_stat_user_tables WHERE relname = 'transactions'`,
    );
    expect(rows[0].n).toBe(2);
  });

  it('the purge job analyzes the table after purging more than a tenth of it', async () => {
    // 300 of the 420 rows deleted 10 days ago; an instance keeping 3 days purges them at start.
    await app.sql.query(
      `UPDATE transactions SET deleted_at = now() - interval '10 days'
       WHERE id IN (SELECT id FROM transactions ORDER BY id LIMIT 300)`,
    );
    const purging = await startApp({ TRASH_RETENTION_DAYS: '3' }, { databaseUrl: app.databaseUrl });
    try {
      expect(
        await readUntil(
          () => plannerRows(app),
          (rows) => rows === 120,
          { ms: 30_000 },
        ),
      ).toBe(120);
      const { rows } = await app.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM transactions',
      );
      expect(rows[0].n).toBe(120);
    } finally {
      await purging.stop();
    }
  }, 120_000);
});
