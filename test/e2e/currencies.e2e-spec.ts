import { startApp, type TestApp } from '../app';
import {
  csvHelpers,
  EXPORT,
  EXPORT_HEADER,
  ok,
  rowErrors,
  type CsvRecord,
  type Query,
  type RowError,
} from '../csv-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import { createTx, TX, type TxBody, validTx } from '../transactions';
import { until } from '../waits';

/**
 * Currencies on transactions (docs/api.md, "Currencies") end to end, over
 * HTTP against the built app: the minor units of each currency on create, update, import and
 * export; the default currency (BASE_CURRENCY); GET /currencies; the currency filter of the list
 * (page totals from the rollups, cursor pages) and of the export; CSV files with a currency
 * column. Accounts, transfers, exchange rates and dashboards are not covered here.
 */

// Starting an app can take a while on a busy machine.
jest.setTimeout(60_000);

const CURRENCIES = '/api/v1/currencies';

interface Currency {
  code: string;
  name: string;
  minorUnits: number;
}

/**
 * The minor-units table. `accepted`: [sent, as stored and served]. `refused`: amounts that are a
 * 400 naming `amount` in this currency. `patchedInto`: a row in `from` at `amount`, PATCHed to
 * this currency without an amount: the amount it is then served with, or 400 when the stored
 * value does not fit this currency's minor units.
 */
interface MinorUnitsCase {
  code: string;
  minorUnits: number;
  accepted: [string, string][];
  refused: string[];
  patchedInto: [from: string, amount: string, expected: string | 400][];
}
const TABLE: MinorUnitsCase[] = [
  {
    code: 'JPY',
    minorUnits: 0,
    accepted: [
      ['1200', '1200'],
      ['7', '7'],
      ['999999999999', '999999999999'],
    ],
    refused: ['1200.5', '100.0', '1.00', '0.5'],
    patchedInto: [
      ['USD', '12.00', '12'],
      ['USD', '12.50', 400],
      ['KWD', '3.000', '3'],
      ['KWD', '3.100', 400],
    ],
  },
  {
    code: 'ISK',
    minorUnits: 0,
    accepted: [
      ['350', '350'],
      ['1', '1'],
    ],
    refused: ['350.0', '350.5', '0.1'],
    patchedInto: [
      ['USD', '1500.00', '1500'],
      ['BHD', '0.001', 400],
    ],
  },
  {
    code: 'USD',
    minorUnits: 2,
    accepted: [
      ['12', '12.00'],
      ['12.5', '12.50'],
      ['0.01', '0.01'],
      ['12.30', '12.30'],
    ],
    refused: ['1.234', '12.000', '0.001'],
    patchedInto: [
      ['JPY', '1200', '1200.00'],
      ['KWD', '1.250', '1.25'],
      ['KWD', '1.005', 400],
    ],
  },
  {
    code: 'KWD',
    minorUnits: 3,
    accepted: [
      ['1.5', '1.500'],
      ['1.005', '1.005'],
      ['12', '12.000'],
      ['0.001', '0.001'],
    ],
    refused: ['1.0005', '0.0001'],
    patchedInto: [
      ['USD', '12.50', '12.500'],
      ['JPY', '5', '5.000'],
    ],
  },
  {
    code: 'BHD',
    minorUnits: 3,
    accepted: [
      ['0.5', '0.500'],
      ['250.25', '250.250'],
      ['0.001', '0.001'],
    ],
    refused: ['250.2505'],
    patchedInto: [
      ['KWD', '1.005', '1.005'],
      ['ISK', '42', '42.000'],
    ],
  },
];

const byAmount = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (values: string[]) => [...values].sort(byAmount);

describe('currencies on transactions', () => {
  let app: TestApp;
  let admin: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    viewer = await createUser(app, admin, 'viewer');
  });
  afterAll(() => app?.stop());

  const { exportRaw, exportCsv, importCsv, countRows, analyst } = csvHelpers(
    () => app,
    () => admin,
  );

  const post = (user: TestUser, body: Record<string, unknown>) =>
    app.http().post(TX).set(bearer(user)).send(body);
  const patch = (id: string, body: Record<string, unknown>) =>
    app.http().patch(`${TX}/${id}`).set(bearer(admin)).send(body);
  const getTx = async (user: TestUser, id: string): Promise<TxBody> =>
    (await app.http().get(`${TX}/${id}`).set(bearer(user)).expect(200)).body as TxBody;

  const create = (user: TestUser, overrides: Record<string, unknown>) =>
    createTx(app, user, overrides);

  /** Every row `user` sees with these filters, through page mode. */
  async function list(user: TestUser, query: Query = {}): Promise<TxBody[]> {
    const out: TxBody[] = [];
    for (let page = 1; ; page++) {
      const res = await app
        .http()
        .get(TX)
        .query({ ...query, limit: '100', page: String(page) })
        .set(bearer(user))
        .expect(200);
      out.push(...(res.body.data as TxBody[]));
      if (page >= res.body.meta.totalPages) return out;
    }
  }

  const csv = (header: string, rows: string[]) => `${[header, ...rows].join('\n')}\n`;

  // ---- GET /currencies ----

  describe('GET /currencies', () => {
    let data: Currency[];

    beforeAll(async () => {
      const res = await app.http().get(CURRENCIES).set(bearer(viewer)).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      data = (res.body as { data: Currency[] }).data;
    });

    it('lets a viewer list the currencies as { data: [{ code, name, minorUnits }] }', () => {
      expect(Array.isArray(data)).toBe(true);
      expect(data.length).toBeGreaterThan(100);
      for (const c of data) {
        expect(Object.keys(c).sort()).toEqual(['code', 'minorUnits', 'name']);
        expect(c.code).toMatch(/^[A-Z]{3}$/);
        expect(typeof c.name).toBe('string');
        expect(c.name.length).toBeGreaterThan(0);
        expect(c.name).toBe(c.name.trim());
        expect([0, 2, 3]).toContain(c.minorUnits);
      }
    });

    it('gives JPY 0, ISK 0, USD 2, EUR 2, KWD 3 and BHD 3 minor units', () => {
      const units = Object.fromEntries(data.map((c) => [c.code, c.minorUnits]));
      expect(units).toMatchObject({ JPY: 0, ISK: 0, USD: 2, EUR: 2, KWD: 3, BHD: 3 });
    });

    it('leaves out the codes without minor units (metals, SDR, testing, no currency)', () => {
      const codes = data.map((c) => c.code);
      for (const code of ['XAU', 'XAG', 'XPT', 'XPD', 'XDR', 'XTS', 'XXX', 'XBA'])
        expect(codes).not.toContain(code);
    });

    it('sorts the list by code, each code once', () => {
      const codes = data.map((c) => c.code);
      expect(codes).toEqual([...codes].sort());
      expect(new Set(codes).size).toBe(codes.length);
    });

    it.each(['analyst', 'auditor'] as const)('lets an %s list the currencies', async (role) => {
      const user = await createUser(app, admin, role);
      const res = await app.http().get(CURRENCIES).set(bearer(user)).expect(200);
      expect(res.body.data).toEqual(data);
    });

    it('answers 401 without a token', async () => {
      expectProblem(await app.http().get(CURRENCIES), 401);
    });

    it('accepts an amount in every listed currency, stored with its minor units', async () => {
      const user = await analyst();
      const file = csv(
        'date,type,amount,category,currency',
        data.map((c) => `2026-05-01,income,1,All,${c.code}`),
      );
      const res = await importCsv(user, file);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ imported: data.length, skipped: 0 });
      const { rows } = await exportCsv(user);
      const served = Object.fromEntries(rows.map((r) => [r.currency, r.amount]));
      const expected = Object.fromEntries(
        data.map((c) => [c.code, c.minorUnits === 0 ? '1' : `1.${'0'.repeat(c.minorUnits)}`]),
      );
      expect(served).toEqual(expected);
    });
  });

  // ---- the minor-units table ----

  describe.each(TABLE)('$code: $minorUnits minor units', (c) => {
    it('creates: accepted amounts are served with exactly the minor units', async () => {
      const user = await analyst();
      for (const [sent, served] of c.accepted) {
        const row = await create(user, { amount: sent, currency: c.code });
        expect({ sent, amount: row.amount, currency: row.currency }).toEqual({
          sent,
          amount: served,
          currency: c.code,
        });
        expect(await getTx(user, row.id)).toEqual(row);
      }
      const listed = await list(user, { currency: c.code });
      expect(sorted(listed.map((r) => r.amount))).toEqual(sorted(c.accepted.map(([, s]) => s)));
    });

    it('creates: refused amounts are a 400 naming amount, nothing written', async () => {
      const user = await analyst();
      for (const amount of c.refused) {
        const res = await post(user, validTx({ amount, currency: c.code }));
        expectProblem(res, 400, ['amount']);
      }
      expect(await countRows(user.id)).toBe(0);
    });

    it('updates the amount: accepted ones are served formatted, refused ones are a 400', async () => {
      const user = await analyst();
      const row = await create(user, { amount: c.accepted[0][0], currency: c.code });
      for (const [sent, served] of [...c.accepted].reverse()) {
        const res = await patch(row.id, { amount: sent });
        expect({ sent, status: res.status }).toEqual({ sent, status: 200 });
        expect(res.body).toMatchObject({ amount: served, currency: c.code });
      }
      const before = await getTx(user, row.id);
      for (const amount of c.refused) {
        const res = await patch(row.id, { amount });
        expectProblem(res, 400, ['amount']);
      }
      expect(await getTx(user, row.id)).toEqual(before);
    });

    it.each(c.patchedInto)(
      `updates the currency of a %s %s row to ${c.code}: %s`,
      async (from, amount, expected) => {
        const user = await analyst();
        const row = await create(user, { amount, currency: from });
        const res = await patch(row.id, { currency: c.code });
        if (expected === 400) {
          expectProblem(res, 400, ['amount']);
          expect(await getTx(user, row.id)).toEqual(row);
          // Sending the amount with the new currency is how such a row changes currency.
          const [sent, served] = c.accepted[0];
          const both = await patch(row.id, { currency: c.code, amount: sent }).expect(200);
          expect(both.body).toMatchObject({ amount: served, currency: c.code });
        } else {
          expect(res.status).toBe(200);
          expect(res.body).toMatchObject({ amount: expected, currency: c.code });
          expect(await getTx(user, row.id)).toMatchObject({ amount: expected, currency: c.code });
        }
      },
    );

    it('updates the currency and the amount together; a refused amount is a 400', async () => {
      const user = await analyst();
      const other = c.code === 'USD' ? 'EUR' : 'USD';
      const row = await create(user, { amount: '10.00', currency: other });
      for (const amount of c.refused) {
        expectProblem(await patch(row.id, { currency: c.code, amount }), 400, ['amount']);
      }
      expect(await getTx(user, row.id)).toEqual(row);
      const [sent, served] = c.accepted[c.accepted.length - 1];
      const res = await patch(row.id, { currency: c.code, amount: sent }).expect(200);
      expect(res.body).toMatchObject({ amount: served, currency: c.code });
    });

    it('imports: accepted amounts are stored with exactly the minor units', async () => {
      const user = await analyst();
      const file = csv(
        'date,type,amount,category,currency',
        c.accepted.map(([sent]) => `2026-04-02,expense,${sent},Import,${c.code}`),
      );
      const res = await importCsv(user, file);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: c.accepted.length, skipped: 0, errors: [] });
      const listed = await list(user);
      expect(listed.every((r) => r.currency === c.code)).toBe(true);
      expect(sorted(listed.map((r) => r.amount))).toEqual(sorted(c.accepted.map(([, s]) => s)));
    });

    it('imports: a refused amount is a 422 naming its row and amount, nothing written', async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        `2026-04-02,expense,${c.accepted[0][0]},Import,${c.code}`,
        ...c.refused.map((amount) => `2026-04-03,expense,${amount},Import,${c.code}`),
      ]);
      const res = await importCsv(user, file);
      expectProblem(res, 422);
      expect(rowErrors(res).map(({ row, field }) => ({ row, field }))).toEqual(
        c.refused.map((_, i) => ({ row: 3 + i, field: 'amount' })),
      );
      expect(await countRows(user.id)).toBe(0);
    });

    it('exports: the amount cell has exactly the minor units, the currency cell the code', async () => {
      const user = await analyst();
      for (const [sent] of c.accepted) await create(user, { amount: sent, currency: c.code });
      await create(user, { amount: '1', currency: c.code === 'EUR' ? 'USD' : 'EUR' });
      const { text, rows } = await exportCsv(user, { currency: c.code });
      expect(text.split('\r\n')[0]).toBe(EXPORT_HEADER);
      expect(rows.every((r) => r.currency === c.code && r.accountId === '')).toBe(true);
      expect(sorted(rows.map((r) => r.amount))).toEqual(sorted(c.accepted.map(([, s]) => s)));
      // The JSON list serves the same figures.
      const listed = await list(user, { currency: c.code });
      expect(sorted(listed.map((r) => r.amount))).toEqual(sorted(rows.map((r) => r.amount)));
    });
  });

  // ---- create: currency and amount validation ----

  describe('create: currency validation and defaults', () => {
    it('defaults the currency to BASE_CURRENCY (USD unless configured)', async () => {
      const user = await analyst();
      const row = await create(user, { amount: '12.5' });
      expect(row).toMatchObject({ amount: '12.50', currency: 'USD', accountId: null });
    });

    it('judges the amount of a create without currency by the base currency', async () => {
      const user = await analyst();
      expectProblem(await post(user, validTx({ amount: '1.234' })), 400, ['amount']);
      expect(await countRows(user.id)).toBe(0);
    });

    it.each([
      ['an unknown code', 'ABC'],
      ['a lower-case code', 'usd'],
      ['a mixed-case code', 'Usd'],
      ['gold', 'XAU'],
      ['the testing code', 'XTS'],
      ['a four-decimal unit', 'CLF'],
      ['a code with spaces', ' USD'],
      ['a two-letter code', 'US'],
      ['an empty string', ''],
      ['null', null],
      ['a number', 840],
      ['an array', ['USD']],
    ])('refuses %s as currency with a 400 naming currency', async (_, currency) => {
      const user = await analyst();
      const res = await post(user, validTx({ amount: '12', currency }));
      expectProblem(res, 400, ['currency']);
      expect(await countRows(user.id)).toBe(0);
    });

    it('accepts a JSON number 1200 as a JPY amount', async () => {
      const user = await analyst();
      const row = await create(user, { amount: 1200, currency: 'JPY' });
      expect(row).toMatchObject({ amount: '1200', currency: 'JPY' });
    });

    it('refuses a JSON number 12.5 as a JPY amount with a 400 naming amount', async () => {
      const user = await analyst();
      expectProblem(await post(user, validTx({ amount: 12.5, currency: 'JPY' })), 400, ['amount']);
      expect(await countRows(user.id)).toBe(0);
    });

    it('accepts JSON numbers within the minor units of KWD and USD', async () => {
      const user = await analyst();
      expect(await create(user, { amount: 1.005, currency: 'KWD' })).toMatchObject({
        amount: '1.005',
        currency: 'KWD',
      });
      expect(await create(user, { amount: 12.5, currency: 'USD' })).toMatchObject({
        amount: '12.50',
        currency: 'USD',
      });
      expectProblem(await post(user, validTx({ amount: 1.005, currency: 'USD' })), 400, ['amount']);
    });

    it('lists an amount that does not fit the currency sent beside the other offending fields', async () => {
      const user = await analyst();
      const body = validTx({ amount: '100.5', currency: 'JPY', date: '2026-02-30', category: ' ' });
      expectProblem(await post(user, body), 400, ['amount', 'category', 'date']);
      expect(await countRows(user.id)).toBe(0);
    });

    it('lists an amount that does not fit the base currency beside the other offending fields', async () => {
      const user = await analyst();
      const body = validTx({ amount: '1.234', date: '2026-02-30', category: ' ' });
      expectProblem(await post(user, body), 400, ['amount', 'category', 'date']);
      expect(await countRows(user.id)).toBe(0);
    });

    it('judges a PATCHed amount without currency by the row’s own currency, not the base', async () => {
      const user = await analyst();
      const row = await create(user, { amount: '1.000', currency: 'KWD' });
      const res = await patch(row.id, { amount: '1.005' });
      expect(res.status).toBe(200);
      expect(res.body.amount).toBe('1.005');
    });

    it('lists an amount that does not fit the currency sent beside the other offending fields on PATCH', async () => {
      const user = await analyst();
      const row = await create(user, { amount: '12.00', currency: 'USD' });
      const res = await patch(row.id, { amount: '1.5', currency: 'JPY', date: '2026-02-30' });
      expectProblem(res, 400, ['amount', 'date']);
      expect(await getTx(user, row.id)).toEqual(row);
    });

    it('lists both fields when the currency and the amount are both malformed', async () => {
      const user = await analyst();
      const res = await post(user, validTx({ amount: 'abc', currency: 'usd' }));
      expectProblem(res, 400, ['amount', 'currency']);
    });

    it.each([
      ['an unknown code', { currency: 'ABC' }],
      ['a lower-case code', { currency: 'usd' }],
      ['null', { currency: null }],
    ])('refuses %s as currency on PATCH with a 400 naming currency', async (_, body) => {
      const user = await analyst();
      const row = await create(user, { amount: '12.00', currency: 'USD' });
      expectProblem(await patch(row.id, body), 400, ['currency']);
      expect(await getTx(user, row.id)).toEqual(row);
    });
  });

  // ---- the currency filter ----

  describe('the currency filter of the list and the export', () => {
    let owner: TestUser;
    let second: TestUser;
    const ids: Record<string, string[]> = {};

    const sqlIds = async (where: string, params: unknown[]): Promise<string[]> =>
      (
        await app.sql.query<{ id: string }>(
          `SELECT id FROM transactions WHERE deleted_at IS NULL AND ${where} ORDER BY id`,
          params,
        )
      ).rows.map((r) => r.id);

    beforeAll(async () => {
      [owner, second] = await Promise.all([analyst(), analyst()]);
      const rows: [TestUser, string, string, string, string][] = [
        // user, currency, amount, type, date
        [owner, 'USD', '10.00', 'expense', '2026-01-15'],
        [owner, 'USD', '20.00', 'income', '2026-02-10'],
        [owner, 'USD', '30.00', 'expense', '2026-03-05'],
        [owner, 'JPY', '1000', 'income', '2026-01-20'],
        [owner, 'JPY', '2000', 'expense', '2026-02-01'],
        [owner, 'JPY', '3000', 'expense', '2026-02-28'],
        [owner, 'JPY', '4000', 'expense', '2026-03-31'],
        [owner, 'KWD', '1.005', 'expense', '2026-02-14'],
        [second, 'JPY', '500', 'expense', '2026-02-15'],
        [second, 'EUR', '5.00', 'income', '2026-02-15'],
      ];
      for (const [user, currency, amount, type, date] of rows) {
        const row = await create(user, { currency, amount, type, date });
        (ids[currency] ??= []).push(row.id);
      }
      // Rows that move between currencies or leave the list keep the rollups' counts exact.
      const deleted = await create(owner, { currency: 'JPY', amount: '9', date: '2026-02-20' });
      await app.http().delete(`${TX}/${deleted.id}`).set(bearer(admin)).expect(204);
      const moved = await create(owner, { currency: 'USD', amount: '12.00', date: '2026-02-21' });
      await patch(moved.id, { currency: 'JPY' }).expect(200);
      const movedOut = await create(owner, {
        currency: 'JPY',
        amount: '70',
        date: '2026-02-22',
      });
      await patch(movedOut.id, { currency: 'KWD', amount: '0.070' }).expect(200);
    });

    const total = async (user: TestUser, query: Query): Promise<number> => {
      const res = await app
        .http()
        .get(TX)
        .query({ ...query, limit: '1' })
        .set(bearer(user))
        .expect(200);
      return res.body.meta.total as number;
    };

    it.each([
      [{ currency: 'JPY' }, 5, "currency = 'JPY'"],
      [{ currency: 'USD' }, 3, "currency = 'USD'"],
      [{ currency: 'KWD' }, 2, "currency = 'KWD'"],
      [{ currency: 'EUR' }, 0, "currency = 'EUR'"],
      [{ currency: 'JPY', type: 'expense' }, 4, "currency = 'JPY' AND type = 'expense'"],
      [{ currency: 'JPY', category: 'food' }, 5, "currency = 'JPY' AND lower(category) = 'food'"],
      [
        { currency: 'JPY', from: '2026-01-25', to: '2026-02-28' },
        3,
        "currency = 'JPY' AND date BETWEEN '2026-01-25' AND '2026-02-28'",
      ],
      [
        { currency: 'JPY', from: '2026-02-01', to: '2026-03-31' },
        4,
        "currency = 'JPY' AND date BETWEEN '2026-02-01' AND '2026-03-31'",
      ],
    ])('counts the page-mode total of %j exactly (%i rows)', async (query, expected, where) => {
      expect(await total(owner, query)).toBe(expected);
      expect((await sqlIds(`owner_id = $1 AND ${where}`, [owner.id])).length).toBe(expected);
      const rows = await list(owner, query);
      expect(rows).toHaveLength(expected);
      expect(rows.every((r) => r.currency === query.currency)).toBe(true);
      // The admin's view of the same owner agrees.
      expect(await total(admin, { ...query, ownerId: owner.id })).toBe(expected);
    });

    it('counts the organisation-wide page-mode total of a currency exactly', async () => {
      const expected = (await sqlIds("currency = 'JPY'", [])).length;
      expect(expected).toBeGreaterThanOrEqual(6);
      expect(await total(admin, { currency: 'JPY' })).toBe(expected);
      expect(await total(second, { currency: 'JPY' })).toBe(1);
      expect(await total(second, { currency: 'EUR' })).toBe(1);
    });

    it.each(['-date', 'amount', '-createdAt'])(
      'walks the rows of one currency in cursor mode (sort %s)',
      async (sort) => {
        const seen: TxBody[] = [];
        let cursor = '';
        for (let i = 0; i < 20; i++) {
          const res = await app
            .http()
            .get(TX)
            .query({ currency: 'JPY', limit: '2', cursor, sort })
            .set(bearer(owner))
            .expect(200);
          seen.push(...(res.body.data as TxBody[]));
          if (res.body.meta.nextCursor === null) break;
          cursor = res.body.meta.nextCursor as string;
        }
        expect(seen.every((r) => r.currency === 'JPY')).toBe(true);
        expect(seen.map((r) => r.id).sort()).toEqual(
          await sqlIds("owner_id = $1 AND currency = 'JPY'", [owner.id]),
        );
      },
    );

    it('keeps an exact (cached) total of a currency exact as rows move between currencies', async () => {
      // minAmount and q are counted over the table and the total cached, then brought forward
      // through the change log, whose images carry the currency.
      const user = await analyst();
      const queries: [Query, string][] = [
        [{ currency: 'JPY', minAmount: '150' }, "currency = 'JPY' AND amount >= 150"],
        [{ currency: 'JPY', q: 'latte' }, "currency = 'JPY' AND notes ILIKE '%latte%'"],
        [{ currency: 'KWD', q: 'latte' }, "currency = 'KWD' AND notes ILIKE '%latte%'"],
      ];
      const expectExact = async (expected: number[]) => {
        const totals: number[] = [];
        for (const [query, where] of queries) {
          const t = await total(user, query);
          expect(t).toBe((await sqlIds(`owner_id = $1 AND ${where}`, [user.id])).length);
          totals.push(t);
        }
        expect(totals).toEqual(expected);
      };
      const make = (currency: string, amount: string) =>
        create(user, { currency, amount, notes: 'latte' });
      const [, , big] = [
        await make('JPY', '100'),
        await make('JPY', '200'),
        await make('JPY', '300'),
      ];
      const dollars = await make('USD', '12.00');
      await expectExact([2, 3, 0]);
      await patch(dollars.id, { currency: 'JPY' }).expect(200);
      await expectExact([2, 4, 0]);
      await patch(big.id, { currency: 'KWD', amount: '300' }).expect(200);
      await expectExact([1, 3, 1]);
      await patch(dollars.id, { amount: '5000' }).expect(200);
      await expectExact([2, 3, 1]);
      await app.http().delete(`${TX}/${dollars.id}`).set(bearer(admin)).expect(204);
      await expectExact([1, 2, 1]);
      await app.http().post(`${TX}/${dollars.id}/restore`).set(bearer(admin)).expect(200);
      await expectExact([2, 3, 1]);
    });

    it('exports only the rows of the currency asked for', async () => {
      const { rows } = await exportCsv(owner, { currency: 'JPY' });
      expect(rows.map((r) => r.currency)).toEqual(Array(5).fill('JPY'));
      expect(rows.map((r) => r.id).sort()).toEqual(
        await sqlIds("owner_id = $1 AND currency = 'JPY'", [owner.id]),
      );
      const kwd = await exportCsv(owner, { currency: 'KWD' });
      expect(sorted(kwd.rows.map((r) => r.amount))).toEqual(['0.070', '1.005']);
    });

    it.each([
      ['a lower-case code', 'usd'],
      ['an unknown code', 'ABC'],
      ['gold', 'XAU'],
      ['an empty value', ''],
    ])('refuses %s as the list and export filter with a 400 naming currency', async (_, code) => {
      const listed = await app.http().get(TX).query({ currency: code }).set(bearer(owner));
      expectProblem(listed, 400, ['currency']);
      const cursorMode = await app
        .http()
        .get(TX)
        .query({ currency: code, cursor: '' })
        .set(bearer(owner));
      expectProblem(cursorMode, 400, ['currency']);
      const exported = await exportRaw(owner, { currency: code });
      expectProblem(exported, 400);
      expect(fieldsOf(exported)).toContain('currency');
    });
  });

  // ---- CSV import with a currency column ----

  describe('CSV import with a currency column', () => {
    it('imports mixed currencies; an empty cell is the base currency', async () => {
      const user = await analyst();
      const file = csv('Date,Type,Amount,Category,Notes,Currency', [
        '2026-06-01,expense,12.5,Food,usd row,USD',
        '2026-06-02,income,1200,Salary,yen row,JPY',
        '2026-06-03,expense,1.005,Fees,dinar row,KWD',
        '2026-06-04,expense,7,Misc,default row,',
        '2026-06-05,income,0.5,Misc,bahraini row,BHD',
      ]);
      const res = await importCsv(user, file);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: 5, skipped: 0, errors: [] });
      const rows = await list(user, { sort: 'date' });
      expect(rows.map((r) => [r.notes, r.amount, r.currency, r.accountId])).toEqual([
        ['usd row', '12.50', 'USD', null],
        ['yen row', '1200', 'JPY', null],
        ['dinar row', '1.005', 'KWD', null],
        ['default row', '7.00', 'USD', null],
        ['bahraini row', '0.500', 'BHD', null],
      ]);
    });

    it('refuses the whole file when a JPY row has decimals: 422 with row and field, nothing written', async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        '2026-06-01,expense,12.50,Food,USD',
        '2026-06-02,expense,1200,Food,JPY',
        '2026-06-03,expense,100.5,Food,JPY',
        '2026-06-04,expense,1.005,Food,KWD',
      ]);
      const res = await importCsv(user, file);
      expectProblem(res, 422);
      expect(rowErrors(res)).toEqual([{ row: 4, field: 'amount', message: expect.any(String) }]);
      expect(rowErrors(res)[0].message).toMatch(/JPY/);
      expect(await countRows(user.id)).toBe(0);
    });

    it("reports an amount that does not fit its currency beside the row's other errors", async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        '2026-02-30,expense,100.5,Food,JPY',
        '2026-02-30,expense,1.234,Food,KWD',
        '2026-02-30,expense,1.234,Food,USD',
      ]);
      const res = await importCsv(user, file);
      expectProblem(res, 422);
      const byRowAndField = (a: RowError, b: RowError) =>
        a.row - b.row || (a.field < b.field ? -1 : 1);
      expect(
        rowErrors(res)
          .sort(byRowAndField)
          .map(({ row, field }) => ({ row, field })),
      ).toEqual([
        { row: 2, field: 'amount' },
        { row: 2, field: 'date' },
        { row: 3, field: 'date' },
        { row: 4, field: 'amount' },
        { row: 4, field: 'date' },
      ]);
      expect(await countRows(user.id)).toBe(0);
    });

    it('refuses unknown and lower-case currency cells with errors naming currency', async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        '2026-06-01,expense,12.50,Food,usd',
        '2026-06-02,expense,12.50,Food,ABC',
        '2026-06-03,expense,12.50,Food,USD',
      ]);
      const res = await importCsv(user, file);
      expectProblem(res, 422);
      expect(rowErrors(res).map(({ row, field }) => ({ row, field }))).toEqual([
        { row: 2, field: 'currency' },
        { row: 3, field: 'currency' },
      ]);
      expect(await countRows(user.id)).toBe(0);
    });

    it('judges the amount of a row without currency by the base currency', async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        '2026-06-01,expense,1.005,Food,KWD',
        '2026-06-02,expense,1.005,Food,',
      ]);
      const res = await importCsv(user, file);
      expectProblem(res, 422);
      expect(rowErrors(res).map(({ row, field }) => ({ row, field }))).toEqual([
        { row: 3, field: 'amount' },
      ]);
      expect(await countRows(user.id)).toBe(0);
    });

    it('writes the good rows of mixed currencies in partial mode and reports the bad one', async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        '2026-06-01,expense,1200,Food,JPY',
        '2026-06-02,expense,1200.0,Food,JPY',
        '2026-06-03,expense,2.5,Food,KWD',
      ]);
      const res = await importCsv(user, file, { mode: 'partial' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ imported: 2, skipped: 1 });
      expect(rowErrors(res).map(({ row, field }) => ({ row, field }))).toEqual([
        { row: 3, field: 'amount' },
      ]);
      const rows = await list(user, { sort: 'date' });
      expect(rows.map((r) => [r.amount, r.currency])).toEqual([
        ['1200', 'JPY'],
        ['2.500', 'KWD'],
      ]);
    });

    it('judges currencies in a dry run the same way, writing nothing', async () => {
      const user = await analyst();
      const file = csv('date,type,amount,category,currency', [
        '2026-06-01,expense,1200,Food,JPY',
        '2026-06-02,expense,12.5,Food,JPY',
        '2026-06-03,expense,1.005,Food,KWD',
      ]);
      const all = await importCsv(user, file, { dryRun: 'true' });
      expect(all.status).toBe(200);
      expect(all.body).toEqual({
        imported: 0,
        skipped: 1,
        errors: [{ row: 3, field: 'amount', message: expect.any(String) as string }],
      });
      const partial = await importCsv(user, file, { dryRun: 'true', mode: 'partial' });
      expect(partial.status).toBe(200);
      expect(partial.body).toMatchObject({ imported: 2, skipped: 1 });
      expect(await countRows(user.id)).toBe(0);
    });

    describe('in the background (async=true)', () => {
      interface Job {
        status: string;
        rowsImported: number;
        skipped: number;
        errors: { row: number; field: string }[];
      }
      async function runJob(user: TestUser, file: string): Promise<Job> {
        const res = await importCsv(user, file, { async: 'true' });
        expect(res.status).toBe(202);
        let job: Job | undefined;
        return until(
          () => `the import; stuck at ${JSON.stringify(job)}`,
          async () => {
            job = (await app.http().get(res.headers.location).set(bearer(user)).expect(200))
              .body as Job;
            return job.status !== 'queued' && job.status !== 'running' ? job : undefined;
          },
          { ms: 30_000, every: 50 },
        );
      }

      it('stores each row in its currency, formatted by its minor units', async () => {
        const user = await analyst();
        const job = await runJob(
          user,
          csv('date,type,amount,category,currency', [
            '2026-06-01,expense,1200,Food,JPY',
            '2026-06-02,expense,1.5,Food,KWD',
            '2026-06-03,expense,3,Food,',
          ]),
        );
        expect(job).toMatchObject({ status: 'succeeded', rowsImported: 3, skipped: 0 });
        const rows = await list(user, { sort: 'date' });
        expect(rows.map((r) => [r.amount, r.currency])).toEqual([
          ['1200', 'JPY'],
          ['1.500', 'KWD'],
          ['3.00', 'USD'],
        ]);
      });

      it('fails the whole file on a JPY amount with decimals, naming its row and amount', async () => {
        const user = await analyst();
        const job = await runJob(
          user,
          csv('date,type,amount,category,currency', [
            '2026-06-01,expense,1200,Food,JPY',
            '2026-06-02,expense,1200.0,Food,JPY',
          ]),
        );
        expect(job).toMatchObject({ status: 'failed', rowsImported: 0, skipped: 1 });
        expect(job.errors).toEqual([expect.objectContaining({ row: 3, field: 'amount' })]);
        expect(await countRows(user.id)).toBe(0);
      });
    });

    it('round-trips an export: currency and amount come back the same', async () => {
      const [source, target] = await Promise.all([analyst(), analyst()]);
      const made = [
        { amount: '1200', currency: 'JPY', notes: 'yen' },
        { amount: '1.005', currency: 'KWD', notes: 'dinars' },
        { amount: '0.5', currency: 'BHD', notes: null },
        { amount: '12', currency: 'USD', notes: 'dollars' },
        { amount: '350', currency: 'ISK', notes: 'kronur' },
        { amount: '99.99', currency: 'EUR', notes: 'euros' },
      ];
      for (const [i, m] of made.entries())
        await create(source, { ...m, date: `2026-07-0${i + 1}`, category: `C${i}` });
      const exported = await exportCsv(source, { sort: 'date' });
      expect(exported.text.split('\r\n')[0]).toBe(EXPORT_HEADER);
      const res = await importCsv(target, exported.text);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ imported: made.length, skipped: 0, errors: [] });

      const fields = (r: TxBody | CsvRecord) => [
        r.date,
        r.type,
        r.amount,
        r.currency,
        r.category,
        r.notes ?? '',
      ];
      const sourceRows = await list(source, { sort: 'date' });
      const targetRows = await list(target, { sort: 'date' });
      expect(targetRows.map(fields)).toEqual(sourceRows.map(fields));
      expect(targetRows.map((r) => r.amount)).toEqual([
        '1200',
        '1.005',
        '0.500',
        '12.00',
        '350',
        '99.99',
      ]);
      const again = await exportCsv(target, { sort: 'date' });
      const cells = (r: CsvRecord) => [r.date, r.type, r.amount, r.currency, r.category, r.notes];
      expect(again.rows.map(cells)).toEqual(exported.rows.map(cells));
    });
  });

  describe('the export header', () => {
    it('is id,date,type,amount,currency,category,notes,ownerId,accountId,createdAt', async () => {
      const user = await analyst();
      const res = ok(await app.http().get(EXPORT).set(bearer(user)));
      expect(res.status).toBe(200);
      expect(res.text).toBe(
        'id,date,type,amount,currency,category,notes,ownerId,accountId,createdAt\r\n',
      );
      expect(res.text.trim()).toBe(EXPORT_HEADER);
    });
  });
});

describe('BASE_CURRENCY', () => {
  let app: TestApp;
  let admin: TestUser;
  let user: TestUser;

  beforeAll(async () => {
    app = await startApp({ BASE_CURRENCY: 'EUR' });
    admin = await loginAdmin(app);
    user = await createUser(app, admin, 'analyst');
  });
  afterAll(() => app?.stop());

  const post = (body: Record<string, unknown>) =>
    app
      .http()
      .post(TX)
      .set(bearer(user))
      .send({ type: 'expense', category: 'Food', date: '2026-03-14', ...body });

  it('puts a create without currency in EUR', async () => {
    const res = await post({ amount: '12.5' }).expect(201);
    expect(res.body).toMatchObject({ amount: '12.50', currency: 'EUR', accountId: null });
  });

  it('still takes an explicit currency', async () => {
    const res = await post({ amount: '1200', currency: 'JPY' }).expect(201);
    expect(res.body).toMatchObject({ amount: '1200', currency: 'JPY' });
  });

  it('imports rows without a currency column, or with an empty cell, in EUR', async () => {
    const importer = await createUser(app, admin, 'analyst');
    const upload = (text: string) =>
      app
        .http()
        .post('/api/v1/transactions/import')
        .set(bearer(importer))
        .set('Content-Type', 'text/csv')
        .send(text);
    await upload('date,type,amount,category\n2026-06-01,expense,3,Food\n').expect(201);
    await upload('date,type,amount,category,currency\n2026-06-02,expense,4.5,Food,\n').expect(201);
    const res = await app.http().get(TX).query({ sort: 'date' }).set(bearer(importer)).expect(200);
    expect((res.body.data as TxBody[]).map((r) => [r.amount, r.currency])).toEqual([
      ['3.00', 'EUR'],
      ['4.50', 'EUR'],
    ]);
    const total = await app
      .http()
      .get(TX)
      .query({ currency: 'EUR' })
      .set(bearer(importer))
      .expect(200);
    expect(total.body.meta.total).toBe(2);
  });
});

describe('BASE_CURRENCY without minor units', () => {
  let app: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    app = await startApp({ BASE_CURRENCY: 'JPY' });
    user = await createUser(app, await loginAdmin(app), 'analyst');
  });
  afterAll(() => app?.stop());

  const post = (body: Record<string, unknown>) =>
    app
      .http()
      .post(TX)
      .set(bearer(user))
      .send({ type: 'expense', category: 'Food', date: '2026-03-14', ...body });
  const upload = (text: string) =>
    app
      .http()
      .post('/api/v1/transactions/import')
      .set(bearer(user))
      .set('Content-Type', 'text/csv')
      .send(text);

  it('judges a create without currency by the base currency’s minor units', async () => {
    const res = await post({ amount: '1200' }).expect(201);
    expect(res.body).toMatchObject({ amount: '1200', currency: 'JPY' });
    expectProblem(await post({ amount: '12.5' }), 400, ['amount']);
    expectProblem(await post({ amount: '12.0' }), 400, ['amount']);
    expect((await post({ amount: '12.5', currency: 'USD' }).expect(201)).body).toMatchObject({
      amount: '12.50',
      currency: 'USD',
    });
  });

  it('judges an import row without currency by the base currency’s minor units', async () => {
    const res = await upload(
      'date,type,amount,category\n2026-06-01,expense,3,Food\n2026-06-02,expense,4.5,Food\n',
    );
    expectProblem(res, 422);
    expect(rowErrors(res).map(({ row, field }) => ({ row, field }))).toEqual([
      { row: 3, field: 'amount' },
    ]);
  });
});
