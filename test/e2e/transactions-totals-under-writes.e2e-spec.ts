import { Client } from 'pg';
import { PRUNE_CHANGES_SQL } from '../../src/transactions/transaction-list.repository';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { createTx, listTotal, TX, type TxBody } from '../transactions';

jest.setTimeout(120_000);

/**
 * Cached page-mode totals are brought forward with the change log's delta instead of being
 * counted again after every write (transaction-changes migration). Whatever the interleaving of
 * writes, searches, instances, open transactions, imports and prunes, the total a search answers
 * must equal a fresh COUNT of the same filter once the writes it could see have committed.
 */
describe('transactions list: exact totals under concurrent writes', () => {
  let app: TestApp;
  let other: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let neighbour: TestUser;

  beforeAll(async () => {
    app = await startApp();
    other = await startApp({}, { databaseUrl: app.databaseUrl });
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
    neighbour = await createUser(app, admin, 'analyst');
  });
  afterAll(async () => {
    await other?.stop();
    await app?.stop();
  });

  const total = (user: TestUser, query: string, on: TestApp = app) => listTotal(on, user, query);

  /** The same filters in plain SQL, counted fresh. */
  const fresh = async (where: string, params: unknown[] = []): Promise<number> =>
    Number(
      (await app.sql.query(`SELECT count(*) AS n FROM transactions t WHERE ${where}`, params))
        .rows[0].n,
    );
  const LATTE = `(t.category ILIKE '%latte%' OR t.notes ILIKE '%latte%')`;

  /** Every cached filter of this file against its fresh count, on both instances. */
  const expectExact = async () => {
    const expected = {
      mine: await fresh(`t.owner_id = $1 AND t.deleted_at IS NULL AND ${LATTE}`, [analyst.id]),
      org: await fresh(`t.deleted_at IS NULL AND ${LATTE}`),
      big: await fresh(`t.owner_id = $1 AND t.deleted_at IS NULL AND t.amount >= 100`, [
        analyst.id,
      ]),
      deleted: await fresh(`t.deleted_at IS NOT NULL AND ${LATTE}`),
      everything: await fresh(`t.owner_id = $1 AND ${LATTE}`, [neighbour.id]),
    };
    for (const on of [app, other]) {
      expect({
        mine: await total(analyst, 'q=latte', on),
        org: await total(admin, 'q=latte', on),
        big: await total(analyst, 'minAmount=100.00', on),
        deleted: await total(admin, 'q=latte&deleted=only', on),
        everything: await total(admin, `q=latte&deleted=include&ownerId=${neighbour.id}`, on),
      }).toEqual(expected);
    }
  };

  it('starts exact and stays exact through single writes on either instance', async () => {
    await createTx(app, analyst, { notes: 'latte' });
    await createTx(other, neighbour, { notes: 'oat latte', amount: '150.00' });
    await expectExact();
    const row = await createTx(other, analyst, { notes: 'tea', amount: '99.99' });
    await expectExact();
    await other
      .http()
      .patch(`${TX}/${row.id}`)
      .set(bearer(admin))
      .send({ notes: 'latte now', amount: '100.00' })
      .expect(200);
    await expectExact();
    await app.http().delete(`${TX}/${row.id}`).set(bearer(admin)).expect(204);
    await expectExact();
    await other.http().post(`${TX}/${row.id}/restore`).set(bearer(admin)).expect(200);
    await expectExact();
  });

  it('counts a write that was open while the total was cached once it commits', async () => {
    const writer = new Client({ connectionString: app.databaseUrl });
    await writer.connect();
    try {
      await expectExact();
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
         VALUES ($1, 'expense', 200.00, 'USD', 'Food', '2026-01-05', 'latte pending')`,
        [analyst.id],
      );
      // Cached now, under a snapshot where the insert is still in progress.
      await expectExact();
      await writer.query('COMMIT');
      await expectExact();
    } finally {
      await writer.end();
    }
  });

  it('counts writes that commit in another order than they started', async () => {
    // Two writers that share no lock: other categories (rollup rows) and version slots (pid % 16).
    const clients: Client[] = [];
    const bySlot = new Map<number, Client>();
    while (bySlot.size < 2) {
      const c = new Client({ connectionString: app.databaseUrl });
      await c.connect();
      clients.push(c);
      const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      bySlot.set(rows[0].pid % 16, c);
    }
    const [older, newer] = [...bySlot.values()];
    try {
      const insert = (c: Client, notes: string) =>
        c.query(
          `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
           VALUES ($1, 'expense', 5.00, 'USD', $2, '2026-01-06', $2)`,
          [analyst.id, notes],
        );
      await older.query('BEGIN');
      await insert(older, 'latte first in'); // the older transaction id
      await newer.query('BEGIN');
      await insert(newer, 'latte second in');
      await expectExact();
      await newer.query('COMMIT');
      await expectExact();
      await older.query('UPDATE transactions SET notes = $1 WHERE notes = $2', [
        'no longer',
        'latte second in',
      ]); // waits for nothing: newer has committed
      await expectExact();
      await older.query('COMMIT');
      await expectExact();
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('stays exact under waves of concurrent writes and searches on both instances', async () => {
    const rows: TxBody[] = [];
    const deleted = new Set<string>();
    let n = 0;
    const pick = () => rows[(n * 7919) % rows.length];
    const step = async (): Promise<unknown> => {
      const i = ++n;
      const on = i % 2 === 0 ? app : other;
      const user = i % 3 === 0 ? neighbour : analyst;
      switch (i % 6) {
        case 0:
        case 1:
          rows.push(
            await createTx(on, user, {
              notes: i % 4 === 0 ? 'tea' : `latte ${i}`,
              amount: i % 5 === 0 ? '120.00' : '3.50',
            }),
          );
          return;
        case 2: {
          if (rows.length === 0) return;
          const row = pick();
          return on
            .http()
            .patch(`${TX}/${row.id}`)
            .set(bearer(admin))
            .send(i % 4 === 0 ? { notes: 'tea again' } : { category: 'Latte', amount: '101.00' });
        }
        case 3: {
          if (rows.length === 0) return;
          const row = pick();
          deleted.add(row.id);
          return on.http().delete(`${TX}/${row.id}`).set(bearer(admin));
        }
        case 4: {
          const id = [...deleted][i % Math.max(deleted.size, 1)];
          if (!id) return;
          deleted.delete(id);
          return on.http().post(`${TX}/${id}/restore`).set(bearer(admin));
        }
        default:
          return Promise.all([
            total(analyst, 'q=latte', on),
            total(admin, 'q=latte', on),
            total(admin, 'q=latte&deleted=only', on),
          ]);
      }
    };
    for (let wave = 0; wave < 8; wave++) {
      // Searches run between and alongside the writes, caching totals at every point.
      await Promise.all([
        ...Array.from({ length: 12 }, step),
        total(analyst, 'q=latte'),
        total(admin, 'q=latte', other),
        total(analyst, 'minAmount=100.00'),
      ]);
      await expectExact();
    }
  });

  it('counts again after a statement too large to log row by row (an import)', async () => {
    await expectExact();
    await app.sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
       SELECT $1, 'expense', 100.00 + i % 3, 'USD', 'Food', '2026-02-01', CASE WHEN i % 2 = 0 THEN 'latte bulk' END
       FROM generate_series(1, 1500) i`,
      [analyst.id],
    );
    await expectExact();
    const csv = [
      'date,type,amount,category,notes',
      ...Array.from(
        { length: 1200 },
        (_, i) => `2026-02-02,expense,${i % 2 ? '150.00' : '1.00'},Food,latte ${i}`,
      ),
    ].join('\r\n');
    await other
      .http()
      .post(`${TX}/import`)
      .set(bearer(neighbour))
      .set('Content-Type', 'text/csv')
      .send(`${csv}\r\n`)
      .expect(201);
    await expectExact();
    await createTx(app, analyst, { notes: 'latte after' });
    await expectExact();
  });

  it('stays exact when the change log is pruned, by whichever instance', async () => {
    await expectExact();
    const horizonBefore = (
      await app.sql.query<{ h: string }>(
        'SELECT horizon::text AS h FROM transaction_change_horizon',
      )
    ).rows[0].h;
    // An interval of 0: every call prunes. Twice moves the horizon past every cached snapshot.
    await app.sql.query(PRUNE_CHANGES_SQL, [0]);
    await createTx(other, analyst, { notes: 'latte between prunes' });
    await expectExact();
    await app.sql.query(PRUNE_CHANGES_SQL, [0]);
    await app.sql.query(PRUNE_CHANGES_SQL, [0]);
    // Other sessions on the server may hold the xmin back, so only what is below the horizon must go.
    const { rows } = await app.sql.query<{ n: string; moved: boolean }>(
      `SELECT (SELECT count(*) FROM transaction_changes WHERE xid < h.horizon) AS n,
              h.horizon > $1::xid8 AS moved
       FROM transaction_change_horizon h`,
      [horizonBefore],
    );
    expect(rows[0]).toEqual({ n: '0', moved: true });
    await expectExact();
    await createTx(app, neighbour, { notes: 'latte after prunes' });
    await expectExact();
    // A recent prune makes a later one with a longer interval do nothing.
    const before = await app.sql.query<{ pruned_at: Date }>(
      'SELECT pruned_at FROM transaction_change_horizon',
    );
    await app.sql.query(PRUNE_CHANGES_SQL, [300]);
    const after = await app.sql.query<{ pruned_at: Date }>(
      'SELECT pruned_at FROM transaction_change_horizon',
    );
    expect(after.rows[0].pruned_at).toEqual(before.rows[0].pruned_at);
  });
});
