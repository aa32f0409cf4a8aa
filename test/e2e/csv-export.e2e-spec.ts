import { startApp, type TestApp } from '../app';
import { csvHelpers, EXPORT, EXPORT_HEADER, ok, type Query } from '../csv-helpers';
import { loginAdmin, type TestUser } from '../factories';
import type { NewTx } from '../transactions';

/**
 * CSV export (docs/api.md section 6) end to end, over HTTP against the built app: the file's format,
 * the neutralised spreadsheet formulas, filters and sort, and the queries it refuses. Every
 * request goes through `ok()`, so no response in this file may be a 5xx. Whose rows a caller may
 * export is in csv-ownership.e2e-spec.ts.
 */

// Starting an app can take a while on a busy machine.
jest.setTimeout(60_000);

describe('CSV import and export', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const { createTx, listAll, exportRaw, exportCsv, analyst } = csvHelpers(
    () => app,
    () => admin,
  );

  // ---- export ----

  describe('export', () => {
    it('answers 200 text/csv; charset=utf-8 as an attachment', async () => {
      const user = await analyst();
      await createTx(user, { type: 'income', amount: '1.00', category: 'A', date: '2026-01-01' });
      const res = await exportRaw(user);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8$/i);
      expect(res.headers['content-disposition']).toMatch(/^attachment(;|$)/);
      expect(res.headers['content-disposition']).toMatch(/filename="?[^"]+\.csv"?/);
    });

    it('starts with the exact header line and lists each row under it', async () => {
      const user = await analyst();
      const t = await createTx(user, {
        type: 'expense',
        amount: '12.30',
        category: 'Food',
        date: '2026-02-03',
        notes: 'lunch',
      });
      const { text, rows } = await exportCsv(user);
      expect(text.split(/\r?\n/)[0]).toBe(EXPORT_HEADER);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        id: t.id,
        date: '2026-02-03',
        type: 'expense',
        amount: '12.30',
        category: 'Food',
        notes: 'lunch',
        ownerId: user.id,
      });
      expect(new Date(rows[0].createdAt).toISOString()).toBe(rows[0].createdAt);
    });

    it('exports an empty result as the header line alone', async () => {
      const user = await analyst();
      const { text, rows } = await exportCsv(user);
      expect(text.trim()).toBe(EXPORT_HEADER);
      expect(rows).toEqual([]);
    });

    it('quotes a notes value with a comma, a quote and a newline per RFC 4180', async () => {
      const user = await analyst();
      const notes = 'a, "b"\nc';
      await createTx(user, {
        type: 'income',
        amount: '1.00',
        category: 'A',
        date: '2026-01-01',
        notes,
      });
      const { text, rows } = await exportCsv(user);
      expect(text).toContain('"a, ""b""\nc"');
      expect(rows[0].notes).toBe(notes);
    });

    it.each(['=', '+', '-', '@'])(
      'prefixes a category and notes starting with %s with a single quote',
      async (c) => {
        const user = await analyst();
        await createTx(user, {
          type: 'expense',
          amount: '1.00',
          category: `${c}cmd|' /C calc'!A0`,
          date: '2026-01-01',
          notes: `${c}HYPERLINK("http://x.test","y")`,
        });
        const { rows } = await exportCsv(user);
        expect(rows[0].category).toBe(`'${c}cmd|' /C calc'!A0`);
        expect(rows[0].notes).toBe(`'${c}HYPERLINK("http://x.test","y")`);
      },
    );

    it.each([
      ['tab', '\t'],
      ['carriage return', '\r'],
    ])('prefixes notes starting with a %s with a single quote', async (_name, c) => {
      const user = await analyst();
      await createTx(user, {
        type: 'expense',
        amount: '1.00',
        category: 'A',
        date: '2026-01-01',
        notes: `${c}=1+1`,
      });
      const { rows } = await exportCsv(user);
      expect(rows[0].notes).toBe(`'${c}=1+1`);
    });

    it('leaves cells alone when the formula character is not the first', async () => {
      const user = await analyst();
      await createTx(user, {
        type: 'expense',
        amount: '1.00',
        category: 'a=b',
        date: '2026-01-01',
        notes: 'x-1 +2 @3',
      });
      const { rows } = await exportCsv(user);
      expect(rows[0]).toMatchObject({ category: 'a=b', notes: 'x-1 +2 @3', amount: '1.00' });
    });

    describe('filters and sort', () => {
      let user: TestUser;
      const ids: Record<string, string> = {};

      beforeAll(async () => {
        user = await analyst();
        const rows: [string, NewTx][] = [
          [
            'salary',
            {
              type: 'income',
              amount: '100.00',
              category: 'Salary',
              date: '2026-01-15',
              notes: 'January pay',
            },
          ],
          [
            'shop',
            {
              type: 'expense',
              amount: '25.50',
              category: 'Groceries',
              date: '2026-02-10',
              notes: 'weekly shop',
            },
          ],
          [
            'coffee',
            {
              type: 'expense',
              amount: '7.25',
              category: 'Coffee',
              date: '2026-03-05',
              notes: 'flat white',
            },
          ],
          [
            'refund',
            {
              type: 'income',
              amount: '50.00',
              category: 'Refund',
              date: '2026-03-20',
              notes: 'groceries refund',
            },
          ],
          [
            'rent',
            {
              type: 'expense',
              amount: '300.00',
              category: 'Rent',
              date: '2025-12-31',
              notes: null,
            },
          ],
        ];
        for (const [name, t] of rows) ids[name] = (await createTx(user, t)).id;
      });

      const exportIds = async (query: Query) =>
        (await exportCsv(user, query)).rows.map((r) => r.id);
      const idsOf = (...names: string[]) => names.map((n) => ids[n]);

      it('sorts by -date by default, like the list', async () => {
        expect(await exportIds({})).toEqual(idsOf('refund', 'coffee', 'shop', 'salary', 'rent'));
      });

      it('applies type=', async () => {
        expect((await exportIds({ type: 'income' })).sort()).toEqual(
          idsOf('salary', 'refund').sort(),
        );
      });

      it('applies from= and to= as inclusive bounds', async () => {
        expect((await exportIds({ from: '2026-01-15', to: '2026-03-05' })).sort()).toEqual(
          idsOf('salary', 'shop', 'coffee').sort(),
        );
      });

      it('applies q= to category and notes case-insensitively', async () => {
        expect((await exportIds({ q: 'GROCER' })).sort()).toEqual(idsOf('shop', 'refund').sort());
      });

      it('applies category=, minAmount= and maxAmount=', async () => {
        expect(await exportIds({ category: 'coffee' })).toEqual(idsOf('coffee'));
        expect((await exportIds({ minAmount: '25.50', maxAmount: '100.00' })).sort()).toEqual(
          idsOf('shop', 'refund', 'salary').sort(),
        );
      });

      it('applies sort=amount ascending and sort=-amount descending', async () => {
        expect((await exportCsv(user, { sort: 'amount' })).rows.map((r) => r.amount)).toEqual([
          '7.25',
          '25.50',
          '50.00',
          '100.00',
          '300.00',
        ]);
        expect(await exportIds({ sort: '-amount' })).toEqual(
          idsOf('rent', 'salary', 'refund', 'shop', 'coffee'),
        );
      });

      it('exports the same rows in the same order as the list for the same filters', async () => {
        const query = { type: 'expense', sort: 'date' };
        const listed = (await listAll(user, query)).map((r) => r.id);
        expect(await exportIds(query)).toEqual(listed);
      });
    });

    it.each([
      ['an unknown type', { type: 'transfer' }],
      ['an impossible date', { from: '2025-02-30' }],
      ['from after to', { from: '2026-02-01', to: '2026-01-01' }],
      ['minAmount above maxAmount', { minAmount: '10.00', maxAmount: '1.00' }],
      ['a malformed amount', { minAmount: '1.2345' }],
      ['an amount with more decimals than its currency', { currency: 'USD', minAmount: '1.234' }],
      ['an unknown sort', { sort: 'category' }],
      ['a list-only parameter (page)', { page: '2' }],
      ['a list-only parameter (limit)', { limit: '10' }],
      ['a misspelt filter', { catgory: 'x' }],
    ])('answers 400 problem+json to %s', async (_name, query) => {
      const user = await analyst();
      const res = await exportRaw(user, query);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.status).toBe(400);
    });

    it('answers 401 without a token', async () => {
      const res = ok(await app.http().get(EXPORT));
      expect(res.status).toBe(401);
    });
  });
});
