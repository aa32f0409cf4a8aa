import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { TX } from '../transactions';
import { until } from '../waits';

jest.setTimeout(180_000);

interface ImportJob {
  id: string;
  status: string;
  rowsRead: number;
  rowsImported: number;
  skipped: number;
  errors: { row: number; field: string; message: string }[];
  detail: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

function csv(rows: number, bad?: number): string {
  const lines = ['date,type,amount,category,notes'];
  for (let i = 1; i <= rows; i++)
    lines.push(
      i === bad
        ? `2026-02-30,expense,1.00,Bad,row ${i}`
        : `2026-01-15,expense,${(i % 900) + 1}.25,Bulk,row ${i}`,
    );
  return `${lines.join('\n')}\n`;
}

describe('imports: POST /transactions/import?async=true', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, other] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
    ]);
  });
  afterAll(() => app?.stop());

  const submit = (user: TestUser, body: string, query = 'async=true') =>
    app
      .http()
      .post(`${TX}/import?${query}`)
      .set(bearer(user))
      .set('Content-Type', 'text/csv')
      .send(body);
  const poll = (
    user: TestUser,
    location: string,
    done: (j: ImportJob) => boolean,
    seen: ImportJob[] = [],
  ) =>
    until(
      () => `the import; stuck at ${JSON.stringify(seen.at(-1))}`,
      async () => {
        const job = (await app.http().get(location).set(bearer(user)).expect(200))
          .body as ImportJob;
        seen.push(job);
        return done(job) ? job : undefined;
      },
      { ms: 120_000, every: 20 },
    );
  const count = async (category: string, owner: string) =>
    Number(
      (
        await app.sql.query(
          `SELECT count(*) FROM transactions WHERE category = $1 AND owner_id = $2`,
          [category, owner],
        )
      ).rows[0].count,
    );

  it('answers 202 with Location, reports progress while it runs, and succeeds', async () => {
    const rows = 80_000;
    const res = await submit(analyst, csv(rows)).expect(202);
    expect(res.headers.location).toBe(`/api/v1/imports/${res.body.id}`);
    expect(res.body).toMatchObject({ status: 'queued', rowsRead: 0, rowsImported: 0 });
    const seen: ImportJob[] = [];
    const done = await poll(
      analyst,
      res.headers.location,
      (j) => j.status === 'succeeded' || j.status === 'failed',
      seen,
    );
    expect(done).toMatchObject({
      status: 'succeeded',
      rowsRead: rows,
      rowsImported: rows,
      skipped: 0,
      errors: [],
    });
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
    const midway = seen.filter(
      (j) => j.status === 'running' && j.rowsRead > 0 && j.rowsRead < rows,
    );
    expect(midway.length).toBeGreaterThan(0);
    expect(midway.every((j) => j.rowsImported === 0)).toBe(true);
    expect(await count('Bulk', analyst.id)).toBe(rows);
    const event = await app.sql.query(
      `SELECT data FROM events WHERE type = 'transactions.imported' AND actor_id = $1`,
      [analyst.id],
    );
    expect(event.rows.at(-1).data).toEqual({
      ownerId: analyst.id,
      imported: rows,
      skipped: 0,
      mode: 'all',
    });
  });

  it('fails all-or-nothing on one bad row: nothing written, the row reported', async () => {
    const res = await submit(other, csv(500, 400)).expect(202);
    const done = await poll(
      other,
      res.headers.location,
      (j) => j.status !== 'queued' && j.status !== 'running',
    );
    expect(done).toMatchObject({ status: 'failed', rowsRead: 500, rowsImported: 0, skipped: 1 });
    expect(done.errors).toEqual([expect.objectContaining({ row: 401, field: 'date' })]);
    expect(done.detail).toMatch(/nothing was imported/);
    expect(await count('Bulk', other.id)).toBe(0);
  });

  it('writes the good rows in partial mode', async () => {
    const res = await submit(other, csv(50, 10), 'async=true&mode=partial').expect(202);
    const done = await poll(
      other,
      res.headers.location,
      (j) => j.status === 'succeeded' || j.status === 'failed',
    );
    expect(done).toMatchObject({ status: 'succeeded', rowsImported: 49, skipped: 1 });
  });

  it('fails on a bad header with its errors', async () => {
    const res = await submit(other, 'date,kind,amount\n2026-01-01,x,1\n').expect(202);
    const done = await poll(
      other,
      res.headers.location,
      (j) => j.status === 'failed' || j.status === 'succeeded',
    );
    expect(done.status).toBe('failed');
    expect(done.errors.map((e) => e.row)).toContain(1);
  });

  it("is someone else's 404, an admin's to see, and refuses dryRun", async () => {
    const res = await submit(analyst, csv(3)).expect(202);
    expectProblem(await app.http().get(res.headers.location).set(bearer(other)), 404);
    await app.http().get(res.headers.location).set(bearer(admin)).expect(200);
    expectProblem(await submit(analyst, csv(3), 'async=true&dryRun=true'), 400);
    expectProblem(await app.http().get('/api/v1/imports/not-a-uuid').set(bearer(admin)), 400);
  });
});
