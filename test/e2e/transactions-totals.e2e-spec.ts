import { Client } from 'pg';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { createTx, listTotal, TX } from '../transactions';
import { sleep } from '../waits';

jest.setTimeout(60_000);

/**
 * Page-mode totals the rollups cannot answer (search, amount bounds, deleted rows) are cached by
 * the app under a per-owner write version. Every way a row can change must show in the very next
 * total, whoever made the change: this instance, another instance, or SQL.
 */
describe('transactions list: exact totals stay exact across every kind of write', () => {
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

  it('follows creates, updates, deletes and restores (admin) through this instance', async () => {
    await createTx(app, analyst, { notes: 'latte one' });
    await createTx(app, analyst, { notes: 'latte two' });
    const tea = await createTx(app, analyst, { notes: 'tea' });
    expect(await total(analyst, 'q=latte')).toBe(2);
    expect(await total(analyst, 'q=latte')).toBe(2);
    // The same total on every page: the count is not per page.
    expect(await total(analyst, 'q=latte&page=2')).toBe(2);

    await app
      .http()
      .patch(`${TX}/${tea.id}`)
      .set(bearer(admin))
      .send({ notes: 'latte three' })
      .expect(200);
    expect(await total(analyst, 'q=latte')).toBe(3);

    await app.http().delete(`${TX}/${tea.id}`).set(bearer(admin)).expect(204);
    expect(await total(analyst, 'q=latte')).toBe(2);
    expect(await total(admin, `ownerId=${analyst.id}&deleted=only`)).toBe(1);

    await app.http().post(`${TX}/${tea.id}/restore`).set(bearer(admin)).expect(200);
    expect(await total(analyst, 'q=latte')).toBe(3);
    expect(await total(admin, `ownerId=${analyst.id}&deleted=only`)).toBe(0);
  });

  it("keeps owners apart, and the organisation total follows everyone's writes", async () => {
    const mine = await total(analyst, 'q=latte');
    const org = await total(admin, 'q=latte');
    const theirs = await createTx(app, neighbour, { notes: 'LATTE' });
    expect(await total(analyst, 'q=latte')).toBe(mine);
    expect(await total(admin, 'q=latte')).toBe(org + 1);
    await app.http().delete(`${TX}/${theirs.id}`).set(bearer(admin)).expect(204);
    expect(await total(admin, 'q=latte')).toBe(org);
  });

  it('follows an import', async () => {
    const before = await total(analyst, 'q=latte');
    await app
      .http()
      .post(`${TX}/import`)
      .set(bearer(analyst))
      .set('Content-Type', 'text/csv')
      .send(
        'date,type,amount,category,notes\r\n2026-01-02,expense,3.10,Food,latte\r\n2026-01-03,expense,3.20,Food,oat latte\r\n',
      )
      .expect(201);
    expect(await total(analyst, 'q=latte')).toBe(before + 2);
  });

  it('follows writes made through another instance', async () => {
    const before = await total(analyst, 'q=latte');
    expect(await total(analyst, 'q=latte', other)).toBe(before);
    const created = await createTx(other, analyst, { notes: 'latte elsewhere' });
    expect(await total(analyst, 'q=latte')).toBe(before + 1);
    await other.http().delete(`${TX}/${created.id}`).set(bearer(admin)).expect(204);
    expect(await total(analyst, 'q=latte')).toBe(before);
  });

  it('follows writes made in SQL, outside the app', async () => {
    const before = await total(analyst, 'q=latte');
    const bigBefore = await total(analyst, 'minAmount=1000.00');
    await app.sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
       VALUES ($1, 'expense', 1234.56, 'USD', 'Food', '2026-01-04', 'latte by hand')`,
      [analyst.id],
    );
    expect(await total(analyst, 'q=latte')).toBe(before + 1);
    expect(await total(analyst, 'minAmount=1000.00')).toBe(bigBefore + 1);

    await app.sql.query(
      `UPDATE transactions SET notes = 'espresso' WHERE owner_id = $1 AND notes = 'latte by hand'`,
      [analyst.id],
    );
    expect(await total(analyst, 'q=latte')).toBe(before);
    expect(await total(analyst, 'q=espresso')).toBe(1);

    await app.sql.query(`DELETE FROM transactions WHERE owner_id = $1 AND notes = 'espresso'`, [
      analyst.id,
    ]);
    expect(await total(analyst, 'q=espresso')).toBe(0);
    expect(await total(analyst, 'minAmount=1000.00')).toBe(bigBefore);
  });

  it('sees a write that had to wait for another writer of the same owner', async () => {
    // Writers whose backends share a version slot (pid % 16) queue on its row; the one that
    // waited must still move the version forward when it commits, whatever ran in between.
    const owner = await createUser(app, admin, 'analyst');
    const clients: Client[] = [];
    const slots = new Map<number, Client[]>();
    let pair: Client[] | undefined;
    let bystander: Client | undefined;
    try {
      while (!pair || !bystander) {
        const c = new Client({ connectionString: app.databaseUrl });
        await c.connect();
        clients.push(c);
        const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const slot = rows[0].pid % 16;
        slots.set(slot, [...(slots.get(slot) ?? []), c]);
        pair = [...slots.values()].find((cs) => cs.length >= 2);
        bystander = pair && [...slots.values()].find((cs) => cs[0] !== pair![0])?.[0];
      }
      const [first, waiter] = pair;
      // A category per row, so the writers do not also queue on the same rollup rows.
      let n = 0;
      const insert = (c: Client) =>
        c.query(
          `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
           VALUES ($1, 'expense', 1.00, 'USD', $2, '2026-01-05', 'abacus')`,
          [owner.id, `abacus-${++n}`],
        );
      const sqlCount = async () =>
        Number(
          (
            await app.sql.query(
              `SELECT count(*) AS n FROM transactions WHERE owner_id = $1 AND deleted_at IS NULL`,
              [owner.id],
            )
          ).rows[0].n,
        );

      await insert(bystander);
      await first.query('BEGIN');
      await insert(first);
      await waiter.query('BEGIN');
      const waiting = insert(waiter); // blocks on the slot row that `first` holds
      await sleep(300);
      await insert(bystander);
      await insert(first);
      await first.query('COMMIT');
      await waiting;
      expect(await total(owner, 'q=abacus')).toBe(await sqlCount());
      await waiter.query('COMMIT');
      await insert(bystander);
      expect(await sqlCount()).toBe(6);
      expect(await total(owner, 'q=abacus')).toBe(6);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  });

  it('counts from zero again after the table is truncated', async () => {
    expect(await total(admin, 'q=latte')).toBeGreaterThan(0);
    expect(await total(analyst, 'q=latte')).toBeGreaterThan(0);
    await app.sql.query('TRUNCATE transactions');
    expect(await total(admin, 'q=latte')).toBe(0);
    expect(await total(analyst, 'q=latte')).toBe(0);
  });
});
