import { startApp, type TestApp } from '../app';
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

  /** The planner's row count of the table; -1 until something has analyzed it. */
  const plannerRows = async () =>
    (
      await app.sql.query<{ rows: number }>(
        `SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'transactions'::regclass`,
      )
    ).rows[0].rows;

  it('analyzes the table right after a 200k-row import, and the list uses its index', async () => {
    expect(await plannerRows()).toBe(-1);
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
    const counted = await readUntil(plannerRows, (rows) => rows > ROWS * 0.9, { ms: 30_000 });
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
