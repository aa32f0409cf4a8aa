import { startApp, type TestApp } from '../app';
import { csvHelpers, IMPORT_HEADER, lines, rowErrors } from '../csv-helpers';
import { loginAdmin, type TestUser } from '../factories';

/**
 * An import parses and validates the file while its good rows already stream into the COPY
 * (docs/api.md section 6 still holds): a bad row found late cancels what was copied, and the database
 * ends as if nothing had been sent; the rows written get ascending ids of their own.
 */

jest.setTimeout(90_000);

describe('CSV import: rows stream into the COPY while the file is validated', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp({ DB_POOL_MAX: '2' });
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const { importCsv, summary, sqlSummary, countRows, analyst } = csvHelpers(
    () => app,
    () => admin,
  );
  const good = (n: number, from = 0) =>
    Array.from(
      { length: n },
      (_, i) =>
        `2026-05-${String(1 + ((from + i) % 28)).padStart(2, '0')},expense,1.${String((from + i) % 100).padStart(2, '0')},Stream,row ${from + i}`,
    );
  const auditEntries = async (ownerId: string) =>
    (
      await app.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit_logs WHERE action = 'transaction.import' AND changes->>'ownerId' = $1`,
        [ownerId],
      )
    ).rows[0].n;

  it('writes nothing when the only bad row comes after thousands of good ones (all mode)', async () => {
    const user = await analyst();
    const summaryBefore = await summary(user.id);
    const res = await importCsv(
      user,
      lines(IMPORT_HEADER, ...good(5000), '2026-05-30,expense,-1.00,Stream,late', ...good(10)),
    );
    expect(res.status).toBe(422);
    expect(rowErrors(res)).toEqual([{ row: 5002, field: 'amount', message: expect.any(String) }]);
    expect(await countRows(user.id)).toBe(0);
    expect(await summary(user.id)).toEqual(summaryBefore);
    expect(await auditEntries(user.id)).toBe(0);
    // The cancelled COPY left its connection clean: the next import on the same pool succeeds.
    const again = await importCsv(user, lines(IMPORT_HEADER, ...good(3)));
    expect(again.status).toBe(201);
    expect(await countRows(user.id)).toBe(3);
  });

  it('writes nothing when the file turns out to be malformed CSV half way (all and partial)', async () => {
    const user = await analyst();
    for (const mode of ['all', 'partial']) {
      const res = await importCsv(
        user,
        lines(IMPORT_HEADER, ...good(3000), '2026-05-30,expense,1.00,Stream,"unclosed'),
        { mode },
      );
      expect(res.status).toBe(422);
      expect(await countRows(user.id)).toBe(0);
    }
  });

  it('writes the good rows of a partial import, with rollups and ids that follow', async () => {
    const user = await analyst();
    const body = lines(
      IMPORT_HEADER,
      ...good(2000),
      '2026-05-30,expense,zero,Stream,bad',
      ...good(2000, 2000),
      '2026-13-01,expense,1.00,Stream,bad date',
    );
    const res = await importCsv(user, body, { mode: 'partial' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ imported: 4000, skipped: 2 });
    expect(await countRows(user.id)).toBe(4000);
    expect(await summary(user.id)).toEqual(await sqlSummary(user.id));
    expect(await auditEntries(user.id)).toBe(1);
    // Ids are version 7 UUIDs, ascending in file order, and unique.
    const { rows } = await app.sql.query<{ id: string; notes: string }>(
      `SELECT id, notes FROM transactions WHERE owner_id = $1 ORDER BY id`,
      [user.id],
    );
    expect(rows.every((r) => /^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(r.id))).toBe(true);
    expect(rows.map((r) => r.notes)).toEqual([
      ...good(2000).map((l) => l.split(',')[4]),
      ...good(2000, 2000).map((l) => l.split(',')[4]),
    ]);
  });

  it('answers a dry run from the upload alone', async () => {
    const user = await analyst();
    const res = await importCsv(
      user,
      lines(IMPORT_HEADER, ...good(100), '2026-05-30,expense,zero,Stream,bad'),
      { dryRun: 'true' },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ imported: 0, skipped: 1 });
    expect(await countRows(user.id)).toBe(0);
  });
});
