import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Money as it really exists (docs/api.md, "Currencies, exchange rates, accounts and transfers"):
 *
 * - `transactions.currency` (ISO 4217 code) and an optional `account_id`. Rows from before
 *   currencies are in BASE_CURRENCY (read here once; default USD). `amount` loses its fixed
 *   two-decimal type: every amount is stored with exactly its currency's minor units (0-3), so
 *   NUMERIC prints it formatted and sums of one currency keep that scale.
 * - `accounts`, `transfers` (two legs in one row, so they commit together) and `exchange_rates`.
 *   A composite foreign key (account, owner, currency) makes the database itself refuse a
 *   transaction or transfer booked to someone else's account or in another currency, and an
 *   account's currency change while anything references it.
 * - Rollups gain the currency dimension, so a dashboard converts rollup sums (per day and currency)
 *   instead of scanning transactions. The change log's images gain currency and account, so
 *   cached list totals stay exact under the new filters.
 * - `fx_rate()`: the one SQL home of the rate lookup rule.
 */
// ISO 4217 minor units as of this migration (list one, 2024-06-25): the currencies without and
// with three; every other accepted code has two. common/currencies.ts reads the same table from
// the currency-codes package, and a test checks that the two agree.
const ZERO_DECIMALS = [
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'ISK',
  'JPY',
  'KMF',
  'KRW',
  'PYG',
  'RWF',
  'UGX',
  'UYI',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
];
const THREE_DECIMALS = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'];
const list = (codes: string[]) => codes.map((c) => `'${c}'`).join(', ');
const minorUnitsOf = (code: string) =>
  ZERO_DECIMALS.includes(code) ? 0 : THREE_DECIMALS.includes(code) ? 3 : 2;

/** Stored at exactly the currency's scale, so the column prints the amount formatted. */
const SCALED_AMOUNT = (column: string, currency: string) =>
  `CHECK (${column} > 0 AND ${column} < 1000000000000 AND scale(${column}) = currency_minor_units(${currency}))`;

// Rollup maintenance as in the rollups migration, with the currency in every key.
const delta = (parts: ('new' | 'old')[]) =>
  parts
    .map((p) =>
      p === 'new'
        ? `SELECT owner_id, date, type, category, currency, amount AS total, 1 AS n FROM new_rows WHERE deleted_at IS NULL`
        : `SELECT owner_id, date, type, category, currency, -amount AS total, -1 AS n FROM old_rows WHERE deleted_at IS NULL`,
    )
    .join(' UNION ALL ');

const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

const apply = (parts: ('new' | 'old')[]) => `
    WITH d AS (${delta(parts)}),
    scoped AS (
      SELECT owner_id AS scope_id, date, type, category, currency, total, n FROM d
      UNION ALL
      SELECT '${ORG_SCOPE}'::uuid, date, type, category, currency, total, n FROM d
    ),
    daily AS (
      INSERT INTO rollup_daily AS r (scope_id, day, type, category, currency, total, count)
      SELECT scope_id, date, type, category, currency, sum(total), sum(n) FROM scoped
      GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(total) <> 0 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (scope_id, day, type, category, currency)
      DO UPDATE SET total = r.total + EXCLUDED.total, count = r.count + EXCLUDED.count
    )
    INSERT INTO rollup_monthly AS r (scope_id, month, type, category, currency, total, count)
    SELECT scope_id, date_trunc('month', date)::date, type, category, currency, sum(total), sum(n) FROM scoped
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(total) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope_id, month, type, category, currency)
    DO UPDATE SET total = r.total + EXCLUDED.total, count = r.count + EXCLUDED.count;`;

const ROLLUP_OPS = [
  ['insert', ['new']],
  ['update', ['new', 'old']],
  ['delete', ['old']],
] as const;

const ROLLUP_REBUILD = `
  CREATE OR REPLACE FUNCTION rollup_rebuild() RETURNS void LANGUAGE sql AS $$
    TRUNCATE rollup_daily, rollup_monthly;
    INSERT INTO rollup_daily (scope_id, day, type, category, currency, total, count)
    SELECT scope_id, date, type, category, currency, sum(amount), count(*)
    FROM transactions t
    CROSS JOIN LATERAL (VALUES (t.owner_id), ('${ORG_SCOPE}'::uuid)) s(scope_id)
    WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
    INSERT INTO rollup_monthly (scope_id, month, type, category, currency, total, count)
    SELECT scope_id, date_trunc('month', day)::date, type, category, currency, sum(total), sum(count)
    FROM rollup_daily GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
  $$`;

// The change log (transaction-changes migration) with currency and account in its images.
const IMAGES = `owner_id, type, amount, category, date, notes, deleted_at, currency, account_id`;
const LOG_SQL: Record<string, string> = {
  insert: `INSERT INTO transaction_changes (sign, ${IMAGES}) SELECT 1, ${IMAGES} FROM new_rows`,
  update: `INSERT INTO transaction_changes (sign, ${IMAGES})
             SELECT -1, ${IMAGES} FROM old_rows UNION ALL SELECT 1, ${IMAGES} FROM new_rows`,
  delete: `INSERT INTO transaction_changes (sign, ${IMAGES}) SELECT -1, ${IMAGES} FROM old_rows`,
};
const RESET_SQL: Record<string, string> = {
  insert: `INSERT INTO transaction_change_resets (owner_id) SELECT DISTINCT owner_id FROM new_rows`,
  update: `INSERT INTO transaction_change_resets (owner_id)
             SELECT owner_id FROM old_rows UNION SELECT owner_id FROM new_rows`,
  delete: `INSERT INTO transaction_change_resets (owner_id) SELECT DISTINCT owner_id FROM old_rows`,
};
const SIZE_OF: Record<string, string> = {
  insert: 'new_rows',
  update: 'new_rows',
  delete: 'old_rows',
};

export class Money1764000050000 implements MigrationInterface {
  name = 'Money1764000050000';

  async up(q: QueryRunner): Promise<void> {
    const base = (process.env.BASE_CURRENCY ?? 'USD').trim() || 'USD';
    if (!/^[A-Z]{3}$/.test(base)) {
      throw new Error(`BASE_CURRENCY must be an upper-case ISO 4217 code, got "${base}"`);
    }
    const baseUnits = minorUnitsOf(base);

    await q.query(`
      CREATE FUNCTION currency_minor_units(code char(3)) RETURNS int
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN code IN (${list(ZERO_DECIMALS)}) THEN 0
                    WHEN code IN (${list(THREE_DECIMALS)}) THEN 3 ELSE 2 END
      $$`);

    await q.query(
      `CREATE TYPE account_type AS ENUM ('checking', 'savings', 'credit_card', 'cash', 'investment', 'other')`,
    );
    await q.query(`
      CREATE TABLE accounts (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id        uuid NOT NULL REFERENCES users (id),
        name            varchar(100) NOT NULL,
        type            account_type NOT NULL,
        currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        opening_balance numeric NOT NULL
          CHECK (abs(opening_balance) < 1000000000000 AND scale(opening_balance) = currency_minor_units(currency)),
        opening_date    date NOT NULL CHECK (opening_date BETWEEN '1900-01-01' AND '2999-12-31'),
        archived        boolean NOT NULL DEFAULT false,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        -- The target of the (account, owner, currency) foreign keys below.
        CONSTRAINT accounts_owner_currency_key UNIQUE (id, owner_id, currency)
      )`);
    // GET /accounts: own accounts, oldest first (cursor on created_at, id).
    await q.query(`CREATE INDEX accounts_owner_created_idx ON accounts (owner_id, created_at, id)`);
    await q.query(`CREATE INDEX accounts_created_idx ON accounts (created_at, id)`);

    // Existing rows become BASE_CURRENCY rows; metadata-only (a constant default).
    await q.query(
      `ALTER TABLE transactions ADD COLUMN currency char(3) NOT NULL DEFAULT '${base}'`,
    );
    await q.query(`ALTER TABLE transactions ALTER COLUMN currency DROP DEFAULT`);
    await q.query(
      `ALTER TABLE transactions ADD CONSTRAINT transactions_currency_code CHECK (currency ~ '^[A-Z]{3}$')`,
    );
    // Dropping numeric's typmod rewrites nothing; the values keep their two decimals.
    await q.query(`ALTER TABLE transactions ALTER COLUMN amount TYPE numeric`);
    if (baseUnits !== 2) await this.rescale(q, base, baseUnits);
    await q.query(
      `ALTER TABLE transactions ADD CONSTRAINT transactions_amount_scaled ${SCALED_AMOUNT('amount', 'currency')}`,
    );
    await q.query(`ALTER TABLE transactions ADD COLUMN account_id uuid`);
    await q.query(`
      ALTER TABLE transactions ADD CONSTRAINT transactions_account_fk
      FOREIGN KEY (account_id, owner_id, currency) REFERENCES accounts (id, owner_id, currency)`);
    // An archived account takes no new bookings. The app checks first (a clear 422); this closes
    // the race with an archive in flight: the share lock waits for the archiving update and then
    // sees its result, or holds the archive back until the booking commits.
    await q.query(`
      CREATE FUNCTION transactions_account_open() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT archived FROM accounts WHERE id = NEW.account_id FOR SHARE) THEN
          RAISE EXCEPTION 'account % is archived', NEW.account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_account_open';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER transactions_account_open_insert BEFORE INSERT ON transactions
      FOR EACH ROW WHEN (NEW.account_id IS NOT NULL) EXECUTE FUNCTION transactions_account_open()`);
    await q.query(`
      CREATE TRIGGER transactions_account_open_update BEFORE UPDATE OF account_id ON transactions
      FOR EACH ROW WHEN (NEW.account_id IS NOT NULL AND NEW.account_id IS DISTINCT FROM OLD.account_id)
      EXECUTE FUNCTION transactions_account_open()`);
    // Account balances (live rows of an account up to a date) and the foreign key's checks when
    // an account is deleted or its currency changed.
    await q.query(`
      CREATE INDEX transactions_account_date_idx ON transactions (account_id, date)
      INCLUDE (type, amount, deleted_at) WHERE account_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE transfers (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id        uuid NOT NULL REFERENCES users (id),
        from_account_id uuid NOT NULL,
        to_account_id   uuid NOT NULL,
        amount          numeric NOT NULL ${SCALED_AMOUNT('amount', 'currency')},
        currency        char(3) NOT NULL,
        to_amount       numeric NOT NULL ${SCALED_AMOUNT('to_amount', 'to_currency')},
        to_currency     char(3) NOT NULL,
        rate            numeric NOT NULL CHECK (rate > 0),
        date            date NOT NULL CHECK (date BETWEEN '1900-01-01' AND '2999-12-31'),
        notes           varchar(1000),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        deleted_at      timestamptz,
        CONSTRAINT transfers_two_accounts CHECK (from_account_id <> to_account_id),
        CONSTRAINT transfers_from_fk FOREIGN KEY (from_account_id, owner_id, currency)
          REFERENCES accounts (id, owner_id, currency),
        CONSTRAINT transfers_to_fk FOREIGN KEY (to_account_id, owner_id, to_currency)
          REFERENCES accounts (id, owner_id, currency)
      )`);
    // Balances (both legs up to a date) and the foreign keys' checks.
    await q.query(
      `CREATE INDEX transfers_from_date_idx ON transfers (from_account_id, date) INCLUDE (amount, deleted_at)`,
    );
    await q.query(
      `CREATE INDEX transfers_to_date_idx ON transfers (to_account_id, date) INCLUDE (to_amount, deleted_at)`,
    );
    // GET /transfers: newest first, own or everyone's.
    await q.query(
      `CREATE INDEX transfers_owner_date_idx ON transfers (owner_id, date DESC, id DESC)`,
    );
    await q.query(`CREATE INDEX transfers_date_idx ON transfers (date DESC, id DESC)`);

    await q.query(`
      CREATE TABLE exchange_rates (
        base       char(3) NOT NULL CHECK (base ~ '^[A-Z]{3}$'),
        quote      char(3) NOT NULL CHECK (quote ~ '^[A-Z]{3}$'),
        date       date NOT NULL CHECK (date BETWEEN '1900-01-01' AND '2999-12-31'),
        rate       numeric NOT NULL CHECK (rate > 0 AND scale(rate) <= 10),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (base, quote, date),
        CHECK (base <> quote)
      )`);

    // The lookup rule: the rate of the latest date <= d at most max_age days older than d;
    // failing that the inverse of the opposite rate; failing that, through the base currency,
    // each leg by the same rule. NULL when missing: never 1. A rate comes back as a fraction
    // num / den (an inverse is 1 / rate, a cross rate the product of its legs), so the caller
    // divides once, after multiplying the amount: an inverse is never rounded on its own.
    // Both are single-SELECT set-returning SQL functions, which the planner inlines into the
    // calling query (lookups become index probes in its plan, about 8 µs per currency and day);
    // a function called per row instead is planned per call, 70 times slower.
    const lookup = (from: string, to: string, when: string) => `
      SELECT e.rate FROM exchange_rates e
      WHERE ${when} AND e.base = ${from} AND e.quote = ${to} AND e.date <= d AND e.date >= d - max_age
      ORDER BY e.date DESC LIMIT 1`;
    await q.query(`
      CREATE FUNCTION fx_leg(c char(3), r char(3), d date, max_age int)
      RETURNS TABLE (num numeric, den numeric)
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN c = r THEN 1 WHEN f.rate IS NOT NULL THEN f.rate WHEN i.rate IS NOT NULL THEN 1 END,
               CASE WHEN c = r THEN 1 WHEN f.rate IS NOT NULL THEN 1 ELSE i.rate END
        FROM (SELECT 1) one
        LEFT JOIN LATERAL (${lookup('c', 'r', 'c <> r')}) f ON true
        LEFT JOIN LATERAL (${lookup('r', 'c', 'c <> r AND f.rate IS NULL')}) i ON true
      $$`);
    await q.query(`
      CREATE FUNCTION fx_rate(c char(3), r char(3), d date, max_age int, base char(3))
      RETURNS TABLE (num numeric, den numeric)
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN s.num IS NOT NULL THEN s.num ELSE a.num * b.num END,
               CASE WHEN s.num IS NOT NULL THEN s.den ELSE a.den * b.den END
        FROM fx_leg(c, r, d, max_age) s
        LEFT JOIN LATERAL (SELECT l.num, l.den FROM fx_leg(c, base, d, max_age) l WHERE s.num IS NULL) a ON true
        LEFT JOIN LATERAL (SELECT l.num, l.den FROM fx_leg(base, r, d, max_age) l WHERE s.num IS NULL) b ON true
      $$`);

    for (const table of ['rollup_daily', 'rollup_monthly']) {
      const column = table === 'rollup_daily' ? 'day' : 'month';
      await q.query(`ALTER TABLE ${table} ADD COLUMN currency char(3) NOT NULL DEFAULT '${base}'`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN currency DROP DEFAULT`);
      await q.query(`ALTER TABLE ${table} ALTER COLUMN total TYPE numeric`);
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey`);
      await q.query(
        `ALTER TABLE ${table} ADD PRIMARY KEY (scope_id, ${column}, type, category, currency)`,
      );
    }
    // Conversion reads the days of the currencies other than the reporting one:
    // scope, currency range, day range.
    await q.query(
      `CREATE INDEX rollup_daily_currency_idx ON rollup_daily (scope_id, currency, day)`,
    );
    for (const [op, parts] of ROLLUP_OPS) {
      await q.query(`
        CREATE OR REPLACE FUNCTION rollup_after_${op}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          ${apply([...parts])}
          RETURN NULL;
        END $$`);
    }
    await q.query(ROLLUP_REBUILD);
    if (baseUnits !== 2) await q.query(`SELECT rollup_rebuild()`);

    await q.query(`ALTER TABLE transaction_changes ALTER COLUMN amount TYPE numeric`);
    await q.query(
      `ALTER TABLE transaction_changes ADD COLUMN currency char(3) NOT NULL DEFAULT '${base}'`,
    );
    await q.query(`ALTER TABLE transaction_changes ALTER COLUMN currency DROP DEFAULT`);
    await q.query(`ALTER TABLE transaction_changes ADD COLUMN account_id uuid`);
    for (const op of ['insert', 'update', 'delete']) {
      await q.query(`
        CREATE OR REPLACE FUNCTION transaction_changes_after_${op}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF (SELECT count(*) FROM (SELECT 1 FROM ${SIZE_OF[op]} LIMIT 1001) s) > 1000 THEN
            ${RESET_SQL[op]};
          ELSE
            ${LOG_SQL[op]};
          END IF;
          RETURN NULL;
        END $$`);
    }
  }

  /**
   * A base currency without exactly two minor units: existing amounts move to its scale, and
   * the migration stops (changing nothing) if that would change any value.
   */
  private async rescale(q: QueryRunner, base: string, units: number): Promise<void> {
    const [{ n }] = (await q.query(
      `SELECT count(*)::int AS n FROM transactions WHERE amount <> round(amount, ${units})`,
    )) as { n: number }[];
    if (n > 0) {
      throw new Error(
        `BASE_CURRENCY ${base} has ${units} minor units, but ${n} existing amount(s) have more decimals; ` +
          'migrate with the currency those amounts were recorded in',
      );
    }
    await q.query(`UPDATE transactions SET amount = round(amount, ${units})`);
  }

  down(): Promise<void> {
    return Promise.reject(
      new Error(
        'Money1764000050000 cannot be reverted: amounts in other currencies have no two-decimal form',
      ),
    );
  }
}
