import fc from 'fast-check';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';

jest.setTimeout(120_000);

const ACCOUNTS = '/api/v1/accounts';
const UNITS: Record<string, number> = { USD: 2, JPY: 0, KWD: 3, EUR: 2 };

/** A count of minor units written as the API writes money in that currency (`-1234`, 2 → `-12.34`). */
function money(minor: bigint, units: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(units + 1, '0');
  const body = units === 0 ? digits : `${digits.slice(0, -units)}.${digits.slice(-units)}`;
  return negative ? `-${body}` : body;
}

const day = (d: number) => `2026-01-${String(d).padStart(2, '0')}`;

type Op =
  | { kind: 'tx'; account: number; type: 'income' | 'expense'; minor: bigint; day: number }
  | { kind: 'transfer'; from: number; to: number; minor: bigint; toMinor: bigint; day: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'restore'; pick: number };

/** What the test itself knows was written: the model the balances are checked against. */
interface Row {
  route: 'transactions' | 'transfers';
  id: string;
  date: string;
  deleted: boolean;
  /** Signed minor units per account index this row moves while live. */
  legs: {
    account: number;
    field: 'income' | 'expenses' | 'transfersIn' | 'transfersOut';
    minor: bigint;
  }[];
}

const amount = fc.bigInt({ min: 1n, max: 10_000_000n });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('tx' as const),
      account: fc.nat(2),
      type: fc.constantFrom('income' as const, 'expense' as const),
      minor: amount,
      day: fc.integer({ min: 1, max: 28 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({
        kind: fc.constant('transfer' as const),
        from: fc.nat(2),
        shift: fc.integer({ min: 1, max: 2 }),
        minor: amount,
        toMinor: amount,
        day: fc.integer({ min: 1, max: 28 }),
      })
      .map(({ shift, from, ...rest }) => ({ ...rest, from, to: (from + shift) % 3 })),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restore' as const), pick: fc.nat() }) },
);

/**
 * Balances against an independent model: random sequences of transactions booked to accounts,
 * transfers (same and mixed currencies), deletes and restores; then every account's balance, today
 * and as of a random day, must equal its opening balance plus the live legs dated up to that day,
 * added up here in exact integer minor units (BigInt).
 */
describe('account balances', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
  });
  afterAll(() => app?.stop());

  const openAccount = async (currency: string, opening: bigint) => {
    const res = await app
      .http()
      .post(ACCOUNTS)
      .set(bearer(analyst))
      .send({
        name: `prop ${currency}`,
        type: 'checking',
        currency,
        openingBalance: money(opening, UNITS[currency]),
        openingDate: '2026-01-10',
      })
      .expect(201);
    return res.body.id as string;
  };

  it('equals opening + income - expenses + transfers in - transfers out over live rows up to asOf', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('USD', 'JPY', 'KWD', 'EUR'), { minLength: 3, maxLength: 3 }),
        fc.array(fc.bigInt({ min: -10_000_000n, max: 10_000_000n }), {
          minLength: 3,
          maxLength: 3,
        }),
        fc.array(op, { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 1, max: 28 }),
        async (currencies, openings, ops, asOfDay) => {
          const ids: string[] = [];
          for (let i = 0; i < 3; i++) ids.push(await openAccount(currencies[i], openings[i]));
          const rows: Row[] = [];
          for (const o of ops) {
            if (o.kind === 'tx') {
              const res = await app
                .http()
                .post('/api/v1/transactions')
                .set(bearer(analyst))
                .send({
                  type: o.type,
                  amount: money(o.minor, UNITS[currencies[o.account]]),
                  category: 'prop',
                  date: day(o.day),
                  accountId: ids[o.account],
                })
                .expect(201);
              rows.push({
                route: 'transactions',
                id: res.body.id as string,
                date: day(o.day),
                deleted: false,
                legs: [
                  {
                    account: o.account,
                    field: o.type === 'income' ? 'income' : 'expenses',
                    minor: o.minor,
                  },
                ],
              });
            } else if (o.kind === 'transfer') {
              const same = currencies[o.from] === currencies[o.to];
              const toMinor = same ? o.minor : o.toMinor;
              const res = await app
                .http()
                .post('/api/v1/transfers')
                .set(bearer(analyst))
                .send({
                  fromAccountId: ids[o.from],
                  toAccountId: ids[o.to],
                  amount: money(o.minor, UNITS[currencies[o.from]]),
                  ...(same ? {} : { toAmount: money(toMinor, UNITS[currencies[o.to]]) }),
                  date: day(o.day),
                })
                .expect(201);
              rows.push({
                route: 'transfers',
                id: res.body.id as string,
                date: day(o.day),
                deleted: false,
                legs: [
                  { account: o.from, field: 'transfersOut', minor: o.minor },
                  { account: o.to, field: 'transfersIn', minor: toMinor },
                ],
              });
            } else if (rows.length > 0) {
              const row = rows[o.pick % rows.length];
              const path = `/api/v1/${row.route}/${row.id}`;
              if (o.kind === 'delete') {
                await app
                  .http()
                  .delete(path)
                  .set(bearer(admin))
                  .expect(row.deleted ? 404 : 204);
                row.deleted = true;
              } else {
                await app
                  .http()
                  .post(`${path}/restore`)
                  .set(bearer(admin))
                  .expect(row.deleted ? 200 : 409);
                row.deleted = false;
              }
            }
          }

          for (const asOf of [undefined, day(asOfDay)]) {
            for (let i = 0; i < 3; i++) {
              const sums = { income: 0n, expenses: 0n, transfersIn: 0n, transfersOut: 0n };
              for (const row of rows) {
                if (row.deleted || (asOf !== undefined && row.date > asOf)) continue;
                for (const leg of row.legs) if (leg.account === i) sums[leg.field] += leg.minor;
              }
              const units = UNITS[currencies[i]];
              const balance =
                openings[i] + sums.income - sums.expenses + sums.transfersIn - sums.transfersOut;
              const res = await app
                .http()
                .get(`${ACCOUNTS}/${ids[i]}/balance${asOf ? `?asOf=${asOf}` : ''}`)
                .set(bearer(analyst))
                .expect(200);
              expect(res.body).toMatchObject({
                currency: currencies[i],
                openingBalance: money(openings[i], units),
                income: money(sums.income, units),
                expenses: money(sums.expenses, units),
                transfersIn: money(sums.transfersIn, units),
                transfersOut: money(sums.transfersOut, units),
                balance: money(balance, units),
              });
              if (asOf === undefined) {
                const account = await app
                  .http()
                  .get(`${ACCOUNTS}/${ids[i]}`)
                  .set(bearer(analyst))
                  .expect(200);
                expect(account.body.balance).toBe(money(balance, units));
              }
            }
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('stays exact under 50 concurrent transfers out of one account', async () => {
    const source = await openAccount('USD', 1_000_000n);
    const targets = [
      await openAccount('USD', 0n),
      await openAccount('EUR', 0n),
      await openAccount('JPY', 0n),
    ];
    const sends = Array.from({ length: 50 }, (_, i) => {
      const minor = BigInt(1 + ((i * 7919) % 999));
      const target = i % 3;
      const toMinor = BigInt(1 + ((i * 104_729) % 5000));
      return { minor, target, toMinor: target === 0 ? minor : toMinor };
    });
    const responses = await Promise.all(
      sends.map((s) =>
        app
          .http()
          .post('/api/v1/transfers')
          .set(bearer(analyst))
          .send({
            fromAccountId: source,
            toAccountId: targets[s.target],
            amount: money(s.minor, 2),
            ...(s.target === 0 ? {} : { toAmount: money(s.toMinor, s.target === 2 ? 0 : 2) }),
            date: '2026-02-01',
          }),
      ),
    );
    // Only contract statuses: created, or busy (503) when no connection came free in time.
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(0);
    const landed = sends.filter((_, i) => statuses[i] === 201);
    const out = landed.reduce((sum, s) => sum + s.minor, 0n);
    const drained = await app
      .http()
      .get(`${ACCOUNTS}/${source}/balance`)
      .set(bearer(analyst))
      .expect(200);
    expect(drained.body).toMatchObject({
      transfersOut: money(out, 2),
      balance: money(1_000_000n - out, 2),
    });
    for (let t = 0; t < 3; t++) {
      const into = landed.filter((s) => s.target === t).reduce((sum, s) => sum + s.toMinor, 0n);
      const res = await app
        .http()
        .get(`${ACCOUNTS}/${targets[t]}/balance`)
        .set(bearer(analyst))
        .expect(200);
      expect(res.body.balance).toBe(money(into, t === 2 ? 0 : 2));
    }
    const count = await app.sql.query(
      'SELECT count(*)::int AS n FROM transfers WHERE from_account_id = $1',
      [source],
    );
    expect(count.rows[0].n).toBe(landed.length);
  });
});
