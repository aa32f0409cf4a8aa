import { startApp, type TestApp } from '../app';
import { csvHelpers, IMPORT_HEADER, lines, rowErrors, three } from '../csv-helpers';
import { loginAdmin, type TestUser } from '../factories';

/**
 * How a CSV import (docs/api.md section 6) treats bad rows, end to end over HTTP against the built
 * app: all-or-nothing by default, dryRun=true, mode=partial, and each error numbered by the file
 * line it starts on. Every request goes through `ok()`, so no response in this file may be a 5xx.
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

  const { createTx, listAll, importCsv, summary, countRows, analyst } = csvHelpers(
    () => app,
    () => admin,
  );

  describe('import', () => {
    // ---- import: error modes ----

    describe('all-or-nothing', () => {
      it('answers 422 problem+json {errors: [{row, field, message}]} for one bad row and writes nothing', async () => {
        const user = await analyst();
        await createTx(user, {
          type: 'income',
          amount: '1.00',
          category: 'Before',
          date: '2026-01-01',
        });
        const before = await countRows();
        const summaryBefore = await summary(user.id);
        const res = await importCsv(
          user,
          lines(
            IMPORT_HEADER,
            '2026-06-01,expense,12.50,Food,a',
            '2026-06-02,expense,12.50,Food,b',
            '2026-06-03,expense,twelve,Food,c',
            '2026-06-04,expense,12.50,Food,d',
          ),
        );
        expect(res.status).toBe(422);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.errors).toEqual([
          { row: 4, field: 'amount', message: expect.any(String) as string },
        ]);
        expect(await countRows()).toBe(before);
        expect(await countRows(user.id)).toBe(1);
        expect(await summary(user.id)).toEqual(summaryBefore);
      });

      it.each([
        ['LF', '\n'],
        ['CRLF', '\r\n'],
      ])(
        'numbers a bad row by the file line it starts on, counting every line of an earlier multi-line quoted field (%s): line 6',
        async (_name, eol) => {
          const user = await analyst();
          const file = [
            IMPORT_HEADER, // line 1
            '2026-06-01,expense,1.00,Food,plain', // line 2
            '2026-06-02,expense,1.00,Food,"first line', // line 3
            'second line', // line 4
            'third line"', // line 5
            '2026-06-03,expense,oops,Food,bad', // line 6
            '2026-06-04,expense,1.00,Food,after', // line 7
            '',
          ].join(eol);
          const res = await importCsv(user, file);
          expect(res.status).toBe(422);
          expect(res.body.errors).toEqual([
            { row: 6, field: 'amount', message: expect.any(String) as string },
          ]);
        },
      );

      it.each([
        ['LF', '\n'],
        ['CRLF', '\r\n'],
      ])(
        'numbers a bad multi-line row by its first line, and counts blank lines (%s): line 5',
        async (_name, eol) => {
          const user = await analyst();
          const file = [
            IMPORT_HEADER, // line 1
            '', // line 2
            '2026-06-01,expense,1.00,Food,"a', // line 3
            'b"', // line 4
            '2026-06-03,expense,1.00,,"bad', // line 5: empty category
            'row"', // line 6
            '', // line 7
            '2026-06-04,expense,oops,Food,x', // line 8
            '',
          ].join(eol);
          const res = await importCsv(user, file);
          expect(res.status).toBe(422);
          expect(rowErrors(res).map((e) => [e.row, e.field])).toEqual([
            [5, 'category'],
            [8, 'amount'],
          ]);
        },
      );

      it('reports a row with the wrong number of fields', async () => {
        const user = await analyst();
        const res = await importCsv(
          user,
          lines(
            IMPORT_HEADER,
            '2026-06-01,expense,1.00,Food,ok',
            '2026-06-01,expense,1.00,Food,x,extra',
          ),
        );
        expect(res.status).toBe(422);
        expect(res.body.errors).toEqual([
          { row: 3, field: expect.any(String) as string, message: expect.any(String) as string },
        ]);
        expect(await countRows(user.id)).toBe(0);
      });

      it('reports exactly the first 100 errors when more than 100 rows are bad', async () => {
        const user = await analyst();
        const bad = Array.from({ length: 150 }, (_, i) => `2026-06-01,expense,x${i},Food,n`);
        const before = await countRows();
        const res = await importCsv(
          user,
          lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,ok', ...bad),
        );
        expect(res.status).toBe(422);
        expect(res.body.errors).toHaveLength(100);
        expect(rowErrors(res).map((e) => e.row)).toEqual(
          Array.from({ length: 100 }, (_, i) => i + 3),
        );
        expect(await countRows()).toBe(before);
      });
    });

    describe('dryRun=true', () => {
      it('answers 200 with the would-be body for a clean file and writes nothing', async () => {
        const user = await analyst();
        const before = await countRows();
        const res = await importCsv(user, three, { dryRun: 'true' });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ imported: 3, skipped: 0, errors: [] });
        expect(await countRows()).toBe(before);
      });

      it('answers 200 listing the bad row (imported 0, all-or-nothing) and writes nothing', async () => {
        const user = await analyst();
        const before = await countRows();
        const res = await importCsv(
          user,
          lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,a', '2026-06-02,expense,-1,Food,b'),
          { dryRun: 'true' },
        );
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          imported: 0,
          skipped: 1,
          errors: [{ row: 3, field: 'amount', message: expect.any(String) as string }],
        });
        expect(await countRows()).toBe(before);
      });

      it('with mode=partial counts the good rows it would write, and writes nothing', async () => {
        const user = await analyst();
        const before = await countRows();
        const res = await importCsv(
          user,
          lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,a', '2026-06-02,expense,-1,Food,b'),
          { dryRun: 'true', mode: 'partial' },
        );
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ imported: 1, skipped: 1 });
        expect(await countRows()).toBe(before);
      });
    });

    it('mode=partial: 201, writes only the good rows and reports the bad ones', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        lines(
          IMPORT_HEADER,
          '2026-06-01,expense,1.00,Food,good 1',
          '2026-06-02,expense,abc,Food,bad 1',
          '2026-06-03,income,2.00,Pay,good 2',
          '2026-13-01,expense,3.00,Food,bad 2',
          '2026-06-05,expense,4.00,Food,good 3',
        ),
        { mode: 'partial' },
      );
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        imported: 3,
        skipped: 2,
        errors: [
          { row: 3, field: 'amount', message: expect.any(String) as string },
          { row: 5, field: 'date', message: expect.any(String) as string },
        ],
      });
      const notes = (await listAll(user)).map((r) => r.notes).sort();
      expect(notes).toEqual(['good 1', 'good 2', 'good 3']);
    });
  });
});
