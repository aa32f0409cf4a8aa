import { parse } from 'csv-parse/sync';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';

/**
 * CSV export and import (API.md section 6) end to end, over HTTP against the built app. Every
 * request goes through `ok()`, so no response in this file may be a 5xx.
 */

const EXPORT = '/api/v1/transactions/export';
const IMPORT = '/api/v1/transactions/import';
const EXPORT_HEADER = 'id,date,type,amount,category,notes,ownerId,createdAt';
const IMPORT_HEADER = 'date,type,amount,category,notes';

type TxType = 'income' | 'expense';
interface NewTx {
  type: TxType;
  amount: string;
  category: string;
  date: string;
  notes?: string | null;
}
interface StoredTx {
  id: string;
  ownerId: string;
  type: TxType;
  amount: string;
  category: string;
  date: string;
  notes: string | null;
}
interface Summary {
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
}
type Query = Record<string, string>;
type CsvRecord = Record<string, string>;

/** Lines joined with LF and a final line break. */
const lines = (...l: string[]) => `${l.join('\n')}\n`;

/** Fails the test on any server error, whatever the test expects otherwise. */
function ok<T extends { status: number; text?: string }>(res: T): T {
  if (res.status >= 500) throw new Error(`server error ${res.status}: ${res.text ?? ''}`);
  expect(res.status).toBeLessThan(500);
  return res;
}

const parseCsv = (text: string): CsvRecord[] => parse<CsvRecord>(text, { columns: true });

interface RowError {
  row: number;
  field: string;
  message: string;
}
const rowErrors = (res: { body: unknown }): RowError[] =>
  (res.body as { errors: RowError[] }).errors;

/** A spreadsheet formula trigger at the start of a cell gains a leading quote on export. */
const neutralised = (value: string | null) =>
  value !== null && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;

const sortedKeys = (rows: StoredTx[], key: (r: StoredTx) => string) => rows.map(key).sort();
const dta = (r: StoredTx) => `${r.date}|${r.type}|${r.amount}`;

/**
 * POSTs a text/csv body with `Transfer-Encoding: chunked` and no Content-Length, so the server
 * can only learn the size by reading.
 */
function postChunked(
  url: string,
  token: string,
  body: Buffer,
  query = '',
): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${IMPORT}${query}`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'text/csv',
          'Transfer-Encoding': 'chunked',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 512) req.write(body.subarray(i, i + 512));
    req.end();
  });
}

// Starting an app (and a second one for the size limit) can take a while on a busy machine.
jest.setTimeout(60_000);

describe('CSV import and export', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  // ---- helpers (each asserts status < 500 through ok()) ----

  async function createTx(user: TestUser, t: NewTx, ownerId?: string): Promise<StoredTx> {
    const res = ok(
      await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(user))
        .send(ownerId ? { ...t, ownerId } : t),
    );
    expect(res.status).toBe(201);
    return res.body as StoredTx;
  }

  async function listAll(user: TestUser, query: Query = {}): Promise<StoredTx[]> {
    const out: StoredTx[] = [];
    for (let page = 1; ; page++) {
      const res = ok(
        await app
          .http()
          .get('/api/v1/transactions')
          .query({ ...query, limit: '100', page: String(page) })
          .set(bearer(user)),
      );
      expect(res.status).toBe(200);
      out.push(...(res.body.data as StoredTx[]));
      if (page >= res.body.meta.totalPages) return out;
    }
  }

  const exportRaw = async (user: TestUser, query: Query = {}) =>
    ok(await app.http().get(EXPORT).query(query).set(bearer(user)));

  async function exportCsv(
    user: TestUser,
    query: Query = {},
  ): Promise<{ text: string; rows: CsvRecord[] }> {
    const res = await exportRaw(user, query);
    expect(res.status).toBe(200);
    return { text: res.text, rows: parseCsv(res.text) };
  }

  const importCsv = async (
    user: TestUser,
    body: string | Buffer,
    query: Query = {},
    contentType = 'text/csv',
  ) =>
    ok(
      await app
        .http()
        .post(IMPORT)
        .query(query)
        .set(bearer(user))
        .set('Content-Type', contentType)
        .send(body),
    );

  const importMultipart = async (
    user: TestUser,
    body: string | Buffer,
    query: Query = {},
    field = 'file',
  ) =>
    ok(
      await app
        .http()
        .post(IMPORT)
        .query(query)
        .set(bearer(user))
        .attach(field, Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), {
          filename: 'transactions.csv',
          contentType: 'text/csv',
        }),
    );

  async function summary(userId?: string): Promise<Summary> {
    const res = ok(
      await app
        .http()
        .get('/api/v1/dashboard/summary')
        .query(userId ? { userId } : {})
        .set(bearer(admin)),
    );
    expect(res.status).toBe(200);
    return res.body as Summary;
  }

  /** The summary computed straight from the transactions table (live rows only). */
  async function sqlSummary(ownerId?: string): Promise<Summary> {
    const inc = `coalesce(sum(amount) FILTER (WHERE type = 'income'), 0)`;
    const exp = `coalesce(sum(amount) FILTER (WHERE type = 'expense'), 0)`;
    const { rows } = await app.sql.query<Summary>(
      `SELECT ${inc}::numeric(20,2)::text AS "totalIncome", ${exp}::numeric(20,2)::text AS "totalExpenses",
              (${inc} - ${exp})::numeric(20,2)::text AS "netBalance", count(*)::int AS "transactionCount"
       FROM transactions WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR owner_id = $1)`,
      [ownerId ?? null],
    );
    return rows[0];
  }

  const countRows = async (ownerId?: string): Promise<number> =>
    (
      await app.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM transactions WHERE $1::uuid IS NULL OR owner_id = $1',
        [ownerId ?? null],
      )
    ).rows[0].n;

  const analyst = () => createUser(app, admin, 'analyst');

  // ---- round trip ----

  describe('round trip: export one user, import the file into another', () => {
    let source: TestUser;
    let target: TestUser;
    let exported: string;
    let importStatus: number;
    let importBody: unknown;
    let sourceRows: StoredTx[];
    let targetRows: StoredTx[];

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

    it('keeps category and notes text except that formula-like cells gain the injection quote', () => {
      const key = (r: StoredTx) => JSON.stringify([dta(r), r.category, r.notes]);
      const expected = sourceRows
        .map((r) => ({ ...r, category: neutralised(r.category)!, notes: neutralised(r.notes) }))
        .map(key)
        .sort();
      expect(targetRows.map(key).sort()).toEqual(expected);
      // The prefix is the only change, and it is there on purpose:
      const formula = targetRows.find((r) => r.category === 'Formulas');
      expect(formula?.notes).toBe("'=1+2");
      expect(targetRows.find((r) => r.date === '1900-01-01')).toMatchObject({
        category: "'+Plus",
        notes: "'@mention",
      });
      expect(targetRows.find((r) => r.date === '2024-02-29')?.notes).toBe("'-minus");
      expect(targetRows.filter((r) => r.category === 'Café')).not.toHaveLength(0);
      expect(targetRows.filter((r) => r.notes === 'crlf\r\nlines')).not.toHaveLength(0);
    });

    it("ignores the export's id, ownerId and createdAt columns: new rows owned by the target", () => {
      const sourceIds = new Set(sourceRows.map((r) => r.id));
      expect(targetRows.every((r) => r.ownerId === target.id)).toBe(true);
      expect(targetRows.some((r) => sourceIds.has(r.id))).toBe(false);
    });
  });

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

    describe('ownership', () => {
      let a: TestUser;
      let b: TestUser;
      let aIds: string[];
      let bIds: string[];

      beforeAll(async () => {
        a = await analyst();
        b = await analyst();
        const t = (n: number): NewTx => ({
          type: 'expense',
          amount: `${n}.00`,
          category: 'Own',
          date: '2026-05-01',
        });
        aIds = [(await createTx(a, t(1))).id, (await createTx(a, t(2))).id];
        bIds = [(await createTx(b, t(3))).id];
      });

      it("exports only the analyst's own rows", async () => {
        const { rows } = await exportCsv(a);
        expect(rows.map((r) => r.id).sort()).toEqual([...aIds].sort());
        expect(rows.every((r) => r.ownerId === a.id)).toBe(true);
      });

      it("exports everyone's rows for an admin, and ownerId= narrows to one user", async () => {
        const all = (await exportCsv(admin)).rows.map((r) => r.id);
        expect(all).toEqual(expect.arrayContaining([...aIds, ...bIds]));
        const onlyB = (await exportCsv(admin, { ownerId: b.id })).rows;
        expect(onlyB.map((r) => r.id)).toEqual(bIds);
        expect(onlyB.every((r) => r.ownerId === b.id)).toBe(true);
      });

      it('lets a viewer export its own rows', async () => {
        const viewer = await createUser(app, admin, 'viewer');
        const mine = await createTx(
          admin,
          { type: 'income', amount: '9.99', category: 'Gift', date: '2026-01-01' },
          viewer.id,
        );
        const { rows } = await exportCsv(viewer);
        expect(rows.map((r) => r.id)).toEqual([mine.id]);
      });

      it.each(['analyst', 'viewer'] as const)(
        'answers 403 when a non-admin (%s) names another ownerId',
        async (role) => {
          const user = role === 'analyst' ? a : await createUser(app, admin, 'viewer');
          const res = await exportRaw(user, { ownerId: b.id });
          expect(res.status).toBe(403);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        },
      );

      it('does not export soft-deleted rows', async () => {
        const user = await analyst();
        const keep = await createTx(user, {
          type: 'income',
          amount: '1.00',
          category: 'K',
          date: '2026-01-01',
        });
        const gone = await createTx(user, {
          type: 'income',
          amount: '2.00',
          category: 'G',
          date: '2026-01-02',
        });
        const del = ok(
          await app.http().delete(`/api/v1/transactions/${gone.id}`).set(bearer(admin)),
        );
        expect(del.status).toBe(204);
        expect((await exportCsv(user)).rows.map((r) => r.id)).toEqual([keep.id]);
        expect((await exportCsv(admin, { ownerId: user.id })).rows.map((r) => r.id)).toEqual([
          keep.id,
        ]);
        // ...unless an admin asks for them, as with the list.
        expect(
          (await exportCsv(admin, { ownerId: user.id, deleted: 'only' })).rows.map((r) => r.id),
        ).toEqual([gone.id]);
      });
    });

    it.each([
      ['an unknown type', { type: 'transfer' }],
      ['an impossible date', { from: '2025-02-30' }],
      ['from after to', { from: '2026-02-01', to: '2026-01-01' }],
      ['minAmount above maxAmount', { minAmount: '10.00', maxAmount: '1.00' }],
      ['a malformed amount', { minAmount: '1.234' }],
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

  // ---- import: happy paths ----

  describe('import', () => {
    const three = lines(
      IMPORT_HEADER,
      '2026-06-01,expense,12.50,Food,lunch',
      '2026-06-02,income,1000,Salary,',
      '2026-06-03,expense,0.99,Apps,app store',
    );

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

    it('imports the README example file examples/transactions.csv as documented', async () => {
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

    it.each([
      [
        'an unknown column',
        lines('date,type,amount,category,colour', '2026-06-01,expense,1.00,Food,red'),
      ],
      ['a missing required column', lines('date,type,category,notes', '2026-06-01,expense,Food,x')],
      [
        'a repeated column',
        lines('date,type,amount,amount,category', '2026-06-01,expense,1.00,1.00,Food'),
      ],
      ['a header without data rows', lines(IMPORT_HEADER)],
      ['a header followed only by blank lines', `${IMPORT_HEADER}\r\n\r\n\r\n`],
      ['no header (data in line 1)', lines('2026-06-01,expense,1.00,Food,x')],
      [
        'an unclosed quote',
        lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,"never closed', 'x'),
      ],
    ])('answers 422 problem+json to %s and writes nothing', async (_name, body) => {
      const user = await analyst();
      const before = await countRows();
      const res = await importCsv(user, body);
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await countRows()).toBe(before);
    });

    it('names the offending header columns in errors (row 1)', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        lines('date,type,category,colour', '2026-06-01,expense,Food,red'),
      );
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ row: 1, field: 'colour' }),
          expect.objectContaining({ row: 1, field: 'amount' }),
        ]),
      );
    });

    it('answers 400 or 422 to an empty body', async () => {
      const user = await analyst();
      const res = await importCsv(user, Buffer.alloc(0));
      expect([400, 422]).toContain(res.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('answers 422 to a binary file (random bytes with NULs)', async () => {
      const user = await analyst();
      const bytes = randomBytes(4096);
      bytes[0] = 0;
      bytes[100] = 0;
      const res = await importCsv(user, bytes);
      expect(res.status).toBe(422);
    });

    it('answers 422 to an otherwise valid file with a NUL byte in a field, and writes nothing', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        Buffer.from(lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,a\u0000b'), 'utf8'),
      );
      expect(res.status).toBe(422);
      expect(await countRows(user.id)).toBe(0);
    });

    it('answers 422 to invalid UTF-8 (a lone 0xE9 byte), and writes nothing', async () => {
      const user = await analyst();
      const body = Buffer.concat([
        Buffer.from(`${IMPORT_HEADER}\n2026-06-01,expense,1.00,Caf`, 'utf8'),
        Buffer.from([0xe9]),
        Buffer.from(',latin-1\n', 'utf8'),
      ]);
      const res = await importCsv(user, body);
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await countRows(user.id)).toBe(0);
    });

    it.each(['application/json', 'text/plain', 'application/x-www-form-urlencoded'])(
      'answers 415 to Content-Type %s',
      async (type) => {
        const user = await analyst();
        const body = type === 'application/json' ? JSON.stringify({ csv: three }) : three;
        const res = await importCsv(user, body, {}, type);
        expect(res.status).toBe(415);
        expect(await countRows(user.id)).toBe(0);
      },
    );

    it('answers 422 to a multipart upload without a `file` field', async () => {
      const user = await analyst();
      const res = await importMultipart(user, three, {}, 'upload');
      expect(res.status).toBe(422);
      expect(await countRows(user.id)).toBe(0);
    });

    it.each([
      ['dryRun=maybe', { dryRun: 'maybe' }],
      ['mode=some', { mode: 'some' }],
      ['an unknown parameter', { force: 'true' }],
      ['a non-UUID ownerId', { ownerId: 'me' }],
    ])('answers 400 to %s', async (_name, query) => {
      const user = await analyst();
      const res = await importCsv(user, three, query);
      expect(res.status).toBe(400);
      expect(await countRows(user.id)).toBe(0);
    });

    // ---- import: who may import for whom ----

    describe('roles and ownerId', () => {
      it('answers 403 to a viewer and writes nothing', async () => {
        const viewer = await createUser(app, admin, 'viewer');
        const res = await importCsv(viewer, three);
        expect(res.status).toBe(403);
        expect(await countRows(viewer.id)).toBe(0);
      });

      it('answers 403 to an analyst naming another ownerId', async () => {
        const user = await analyst();
        const other = await analyst();
        const res = await importCsv(user, three, { ownerId: other.id });
        expect(res.status).toBe(403);
        expect(await countRows(other.id)).toBe(0);
        expect(await countRows(user.id)).toBe(0);
      });

      it('lets an analyst name itself as ownerId', async () => {
        const user = await analyst();
        const res = await importCsv(user, three, { ownerId: user.id });
        expect(res.status).toBe(201);
        expect(await countRows(user.id)).toBe(3);
      });

      it('answers 422 to an admin naming an inactive user', async () => {
        const user = await analyst();
        const patch = ok(
          await app
            .http()
            .patch(`/api/v1/users/${user.id}`)
            .set(bearer(admin))
            .send({ isActive: false }),
        );
        expect(patch.status).toBe(200);
        const res = await importCsv(admin, three, { ownerId: user.id });
        expect(res.status).toBe(422);
        expect(await countRows(user.id)).toBe(0);
      });

      it('answers 422 to an admin naming an unknown user', async () => {
        const res = await importCsv(admin, three, {
          ownerId: '7b0f2d0e-3c1a-4a59-9a57-1d2c3b4a5f60',
        });
        expect(res.status).toBe(422);
      });

      it('writes the rows for the user an admin names in ownerId', async () => {
        const user = await analyst();
        const adminBefore = await countRows(admin.id);
        const res = await importCsv(admin, three, { ownerId: user.id });
        expect(res.status).toBe(201);
        const rows = await listAll(user);
        expect(rows).toHaveLength(3);
        expect(rows.every((r) => r.ownerId === user.id)).toBe(true);
        expect(await countRows(admin.id)).toBe(adminBefore);
      });
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
        expect(fromSql).toEqual({
          totalIncome: '100.67',
          totalExpenses: '33.36',
          netBalance: '67.31',
          transactionCount: 4,
        });
        expect(await summary(user.id)).toEqual(fromSql);
        expect(await summary()).toEqual(await sqlSummary());
      });
    });
  });

  // ---- the size limit ----

  describe('with IMPORT_MAX_BYTES=1000', () => {
    let small: TestApp;
    let user: TestUser;
    // A valid 5 KB file: without the limit it would import.
    const big = Buffer.from(
      lines(
        IMPORT_HEADER,
        ...Array.from({ length: 120 }, (_, i) => `2026-06-01,expense,${i + 1}.00,Food,row ${i}`),
      ),
      'utf8',
    );

    beforeAll(async () => {
      small = await startApp({ IMPORT_MAX_BYTES: '1000' });
      const smallAdmin = await loginAdmin(small);
      user = await createUser(small, smallAdmin, 'analyst');
    });
    afterAll(() => small?.stop());

    const count = async () =>
      (await small.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions')).rows[0]
        .n;

    it('still imports a file under the limit', async () => {
      expect(big.length).toBeGreaterThan(4000);
      const res = ok(
        await small
          .http()
          .post(IMPORT)
          .set(bearer(user))
          .set('Content-Type', 'text/csv')
          .send(lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,small')),
      );
      expect(res.status).toBe(201);
    });

    it('answers 413 to a 5 KB text/csv body with Content-Length and writes nothing', async () => {
      const before = await count();
      const res = ok(
        await small.http().post(IMPORT).set(bearer(user)).set('Content-Type', 'text/csv').send(big),
      );
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await count()).toBe(before);
    });

    it('answers 413 to a 5 KB multipart upload and writes nothing', async () => {
      const before = await count();
      const res = ok(
        await small
          .http()
          .post(IMPORT)
          .set(bearer(user))
          .attach('file', big, { filename: 'big.csv', contentType: 'text/csv' }),
      );
      expect(res.status).toBe(413);
      expect(await count()).toBe(before);
    });

    it('answers 413 to a 5 KB body sent chunked without Content-Length, and writes nothing', async () => {
      const before = await count();
      const res = ok(await postChunked(small.url, user.token, big));
      expect(res.status).toBe(413);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(await count()).toBe(before);
    });

    it('answers 413 to a chunked body even in mode=partial, and writes nothing', async () => {
      const before = await count();
      const res = ok(await postChunked(small.url, user.token, big, '?mode=partial'));
      expect(res.status).toBe(413);
      expect(await count()).toBe(before);
    });
  });
});
