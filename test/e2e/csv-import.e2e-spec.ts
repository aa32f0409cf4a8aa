import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type TestApp } from '../app';
import { csvHelpers, IMPORT_HEADER, lines, rowErrors, three } from '../csv-helpers';
import { usdSummary } from '../dashboard-helpers';
import { loginAdmin, type TestUser } from '../factories';
import type { NewTx, TxBody } from '../transactions';

/**
 * CSV import (docs/api.md section 6) end to end, over HTTP against the built app: an exported file
 * imported into another user, the files and encodings an import accepts, and dashboard totals
 * that stay exact afterwards. Every request goes through `ok()`, so no response in this file may
 * be a 5xx. Bad rows are in csv-import-errors.e2e-spec.ts, refused files and requests in
 * csv-import-refused.e2e-spec.ts.
 */

const sortedKeys = (rows: TxBody[], key: (r: TxBody) => string) => rows.map(key).sort();
const dta = (r: TxBody) => `${r.date}|${r.type}|${r.amount}`;

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

  const {
    createTx,
    listAll,
    exportRaw,
    importCsv,
    importMultipart,
    summary,
    sqlSummary,
    countRows,
    analyst,
  } = csvHelpers(
    () => app,
    () => admin,
  );

  // ---- round trip ----

  describe('round trip: export one user, import the file into another', () => {
    let source: TestUser;
    let target: TestUser;
    let exported: string;
    let importStatus: number;
    let importBody: unknown;
    let sourceRows: TxBody[];
    let targetRows: TxBody[];

    const categories = [
      'Café',
      '日本',
      'Groceries',
      'Rent, flat',
      'Say "cheese"',
      'Salary',
      'Ünïcödé ✓',
      'Sushi 🍣',
    ];
    const notes = [
      null,
      'plain',
      'comma, inside',
      'quote "inside"',
      'two\nlines',
      'crlf\r\nlines',
      'all, of "it"\nat once',
      '日本語のメモ',
      '  spaced out  ',
    ];
    const amounts = ['0.01', '0.10', '1.00', '12.34', '999.99', '1234.56', '50000.05'];

    beforeAll(async () => {
      source = await analyst();
      target = await analyst();
      const rows: NewTx[] = [];
      for (let i = 0; i < 46; i++) {
        rows.push({
          type: i % 3 === 0 ? 'income' : 'expense',
          amount: amounts[i % amounts.length],
          category: categories[i % categories.length],
          date: `2025-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
          notes: notes[i % notes.length],
        });
      }
      rows.push(
        {
          type: 'expense',
          amount: '3.00',
          category: 'Formulas',
          date: '2026-01-02',
          notes: '=1+2',
        },
        { type: 'income', amount: '999999999999.99', category: 'Big', date: '2999-12-31' },
        {
          type: 'expense',
          amount: '0.99',
          category: '+Plus',
          date: '1900-01-01',
          notes: '@mention',
        },
        { type: 'income', amount: '7.5', category: 'Leap', date: '2024-02-29', notes: '-minus' },
      );
      for (const t of rows) await createTx(source, t);

      const res = await exportRaw(admin, { ownerId: source.id });
      expect(res.status).toBe(200);
      exported = res.text;
      const imported = await importCsv(admin, exported, { ownerId: target.id });
      importStatus = imported.status;
      importBody = imported.body;
      sourceRows = await listAll(source);
      targetRows = await listAll(target);
    });

    it('imports every exported row: 201 with imported = 50', () => {
      expect(sourceRows).toHaveLength(50);
      expect(importStatus).toBe(201);
      expect(importBody).toEqual({ imported: 50, skipped: 0, errors: [] });
      expect(targetRows).toHaveLength(50);
    });

    it('gives the target the same multiset of (date, type, amount)', () => {
      expect(sortedKeys(targetRows, dta)).toEqual(sortedKeys(sourceRows, dta));
    });

    it('gives the target the same dashboard totals as the source', async () => {
      const [a, b] = [await summary(source.id), await summary(target.id)];
      expect(a.transactionCount).toBe(50);
      expect(b).toEqual(a);
    });

    it("keeps category and notes text exactly: the import removes the export's formula guard again", () => {
      const key = (r: TxBody) => JSON.stringify([dta(r), r.category, r.notes]);
      expect(targetRows.map(key).sort()).toEqual(sourceRows.map(key).sort());
      // The export guarded these cells (docs/api.md section 6); the import took the guard off:
      expect(exported).toContain(`'=1+2`);
      const formula = targetRows.find((r) => r.category === 'Formulas');
      expect(formula?.notes).toBe('=1+2');
      expect(targetRows.find((r) => r.date === '1900-01-01')).toMatchObject({
        category: '+Plus',
        notes: '@mention',
      });
      expect(targetRows.find((r) => r.date === '2024-02-29')?.notes).toBe('-minus');
      expect(targetRows.filter((r) => r.category === 'Café')).not.toHaveLength(0);
      expect(targetRows.filter((r) => r.notes === 'crlf\r\nlines')).not.toHaveLength(0);
    });

    it("ignores the export's id, ownerId and createdAt columns: new rows owned by the target", () => {
      const sourceIds = new Set(sourceRows.map((r) => r.id));
      expect(targetRows.every((r) => r.ownerId === target.id)).toBe(true);
      expect(targetRows.some((r) => sourceIds.has(r.id))).toBe(false);
    });
  });

  // ---- import: happy paths ----

  describe('import', () => {
    it('imports a text/csv body: 201 {imported, skipped: 0, errors: []}', async () => {
      const user = await analyst();
      const res = await importCsv(user, three);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: 3, skipped: 0, errors: [] });
      const rows = await listAll(user, { sort: 'date' });
      expect(rows.map((r) => [r.date, r.type, r.amount, r.category, r.notes])).toEqual([
        ['2026-06-01', 'expense', '12.50', 'Food', 'lunch'],
        ['2026-06-02', 'income', '1000.00', 'Salary', null],
        ['2026-06-03', 'expense', '0.99', 'Apps', 'app store'],
      ]);
      expect(rows.every((r) => r.ownerId === user.id)).toBe(true);
    });

    it('imports the `file` field of a multipart/form-data upload', async () => {
      const user = await analyst();
      const res = await importMultipart(user, three);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: 3, skipped: 0, errors: [] });
      expect(await countRows(user.id)).toBe(3);
    });

    it('imports a BOM, CRLF line endings, quoted commas/quotes/newlines, trailing empty lines and UTF-8 text', async () => {
      const user = await analyst();
      const body = Buffer.from(
        '\uFEFFdate,type,amount,category,notes\r\n' +
          '2026-04-01,expense,1234.56,Café,"comma, inside"\r\n' +
          '2026-04-02,income,0.01,日本,"she said ""hi"""\r\n' +
          '2026-04-03,expense,10,"Rent, flat","line one\r\nline two"\r\n' +
          '2026-04-04,income,7.5,Ünïcödé ✓ 🍣,\r\n' +
          '\r\n\r\n',
        'utf8',
      );
      const res = await importCsv(user, body);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: 4, skipped: 0, errors: [] });
      const rows = await listAll(user, { sort: 'date' });
      expect(rows.map((r) => [r.date, r.type, r.amount, r.category, r.notes])).toEqual([
        ['2026-04-01', 'expense', '1234.56', 'Café', 'comma, inside'],
        ['2026-04-02', 'income', '0.01', '日本', 'she said "hi"'],
        ['2026-04-03', 'expense', '10.00', 'Rent, flat', 'line one\r\nline two'],
        ['2026-04-04', 'income', '7.50', 'Ünïcödé ✓ 🍣', null],
      ]);
    });

    it.each([
      ['an LF header and CRLF rows', '\n', ['\r\n', '\r\n', '\r\n']],
      ['a CRLF header and LF rows', '\r\n', ['\n', '\n', '\n']],
      ['CR (classic Mac) endings throughout', '\r', ['\r', '\r', '\r']],
      ['every ending in one file, blank lines between', '\n', ['\r\n\r\n', '\r\r', '\n']],
    ])(
      'imports %s: each of CRLF, LF and CR ends a record, whatever the others use',
      async (_label, headerEnd, rowEnds) => {
        const user = await analyst();
        const rows = [
          '2026-05-01,expense,12.50,Rent,first',
          '2026-05-02,income,7.25,Pay,"kept\r\nas is"',
          '2026-05-03,expense,3.00,Food,',
        ];
        const file = IMPORT_HEADER + headerEnd + rows.map((r, i) => r + rowEnds[i]).join('');
        const res = await importCsv(user, Buffer.from(file, 'utf8'));
        expect({ status: res.status, body: res.body }).toEqual({
          status: 201,
          body: { imported: 3, skipped: 0, errors: [] },
        });
        const stored = await listAll(user, { sort: 'date' });
        expect(stored.map((r) => [r.date, r.type, r.amount, r.category, r.notes])).toEqual([
          ['2026-05-01', 'expense', '12.50', 'Rent', 'first'],
          ['2026-05-02', 'income', '7.25', 'Pay', 'kept\r\nas is'],
          ['2026-05-03', 'expense', '3.00', 'Food', null],
        ]);
      },
    );

    it('numbers rows by file line when record endings are mixed (a CRLF counts once)', async () => {
      const user = await analyst();
      const file =
        `${IMPORT_HEADER}\n` + // line 1
        '2026-05-01,expense,1.00,Food,a\r\n' + // line 2
        '\r' + // line 3: blank
        '2026-05-02,expense,oops,Food,b\r\n' + // line 4
        '2026-05-03,expense,1.00,Food,"c\rd"\n' + // lines 5-6
        '2026-05-04,expense,1.00,,e\r'; // line 7: empty category
      const res = await importCsv(user, Buffer.from(file, 'utf8'));
      expect(res.status).toBe(422);
      expect(rowErrors(res).map((e) => [e.row, e.field])).toEqual([
        [4, 'amount'],
        [7, 'category'],
      ]);
    });

    it('imports the docs/api.md example file examples/transactions.csv as documented', async () => {
      const user = await analyst();
      const res = await importMultipart(
        user,
        readFileSync(join(__dirname, '..', '..', 'examples', 'transactions.csv')),
      );
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: 4, skipped: 0, errors: [] });
      const rows = await listAll(user, { sort: 'date' });
      expect(rows.map((r) => [r.date, r.type, r.amount, r.category, r.notes])).toEqual([
        ['2026-03-01', 'income', '2500.00', 'Salary', 'March salary'],
        ['2026-03-02', 'expense', '42.50', 'Groceries', 'Milk, bread and "good" coffee'],
        ['2026-03-03', 'expense', '9.99', 'Café', null],
        ['2026-03-04', 'expense', '120.00', 'Utilities', 'Electricity\r\nand water'],
      ]);
    });

    it('reads the header in any order and any case', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        lines('NOTES,Amount,category,TYPE,Date', 'hello,5.00,Misc,income,2026-07-01'),
      );
      expect(res.status).toBe(201);
      const [row] = await listAll(user);
      expect(row).toMatchObject({
        date: '2026-07-01',
        type: 'income',
        amount: '5.00',
        category: 'Misc',
        notes: 'hello',
      });
    });

    it('accepts a file without the notes column (notes null)', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        lines('date,type,amount,category', '2026-07-02,expense,3,Bus'),
      );
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: 1, skipped: 0, errors: [] });
      const [row] = await listAll(user);
      expect(row).toMatchObject({
        date: '2026-07-02',
        amount: '3.00',
        category: 'Bus',
        notes: null,
      });
    });

    it("ignores an ownerId column: an analyst's rows stay the analyst's", async () => {
      const user = await analyst();
      const other = await analyst();
      const res = await importCsv(
        user,
        lines('date,type,amount,category,ownerId', `2026-07-03,expense,4.00,Sneaky,${other.id}`),
      );
      expect(res.status).toBe(201);
      expect(await countRows(user.id)).toBe(1);
      expect(await countRows(other.id)).toBe(0);
    });

    it('applies the same validation as POST /transactions (trims category, refuses bad values)', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        lines(
          IMPORT_HEADER,
          '2026-07-04,expense,1.00,  Padded  ,ok',
          '2025-02-30,expense,1.00,Food,bad date',
          '2026-07-04,transfer,1.00,Food,bad type',
          '2026-07-04,expense,0,Food,zero amount',
          '2026-07-04,expense,1.234,Food,three decimals',
          `2026-07-04,expense,1.00,${'x'.repeat(65)},long category`,
          `2026-07-04,expense,1.00,Food,${'n'.repeat(1001)}`,
        ),
        { mode: 'partial' },
      );
      expect(res.status).toBe(201);
      expect(res.body.imported).toBe(1);
      expect(res.body.skipped).toBe(6);
      expect(rowErrors(res).map((e) => [e.row, e.field])).toEqual([
        [3, 'date'],
        [4, 'type'],
        [5, 'amount'],
        [6, 'amount'],
        [7, 'category'],
        [8, 'notes'],
      ]);
      expect((await listAll(user))[0].category).toBe('Padded');
    });

    // ---- the dashboard rollup stays exact ----

    describe('dashboard rollup', () => {
      it('matches a direct SUM over transactions after an import', async () => {
        const user = await analyst();
        await createTx(user, {
          type: 'income',
          amount: '10.10',
          category: 'Seed',
          date: '2026-01-01',
        });
        const rows = Array.from(
          { length: 40 },
          (_, i) =>
            `2026-${String((i % 12) + 1).padStart(2, '0')}-15,${i % 4 === 0 ? 'income' : 'expense'},${i + 1}.${String(i % 100).padStart(2, '0')},Cat ${i % 5},n${i}`,
        );
        const res = await importCsv(user, lines(IMPORT_HEADER, ...rows));
        expect(res.status).toBe(201);
        const fromSql = await sqlSummary(user.id);
        expect(fromSql.transactionCount).toBe(41);
        expect(await summary(user.id)).toEqual(fromSql);
        expect(await summary()).toEqual(await sqlSummary());
      });

      it('matches a direct SUM over transactions after a partial import', async () => {
        const user = await analyst();
        await createTx(user, {
          type: 'expense',
          amount: '0.03',
          category: 'Seed',
          date: '2026-01-01',
        });
        const res = await importCsv(
          user,
          lines(
            IMPORT_HEADER,
            '2026-02-01,income,100.01,Pay,',
            '2026-02-02,expense,bad,Food,',
            '2026-02-03,expense,33.33,Food,',
            '2026-02-04,expense,1.00,,',
            '2026-03-04,income,0.66,Interest,',
          ),
          { mode: 'partial' },
        );
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ imported: 3, skipped: 2 });
        const fromSql = await sqlSummary(user.id);
        expect(fromSql).toEqual(usdSummary('100.67', '33.36', '67.31', 4));
        expect(await summary(user.id)).toEqual(fromSql);
        expect(await summary()).toEqual(await sqlSummary());
      });
    });
  });
});
