/**
 * Fills a database with benchmark data through the app's own schema:
 *
 *   npm run build
 *   npm run bench:data -- --users 20 --transactions 1000000 [--reset | --append] [--seed 0.42]
 *     [--currencies USD,EUR,JPY]
 *
 * Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (default ./.data), like the app.
 * Runs the migrations, creates the bench users (one admin, the rest analysts), generates the
 * transactions in one INSERT ... SELECT over generate_series, writes daily exchange rates into
 * BASE_CURRENCY, rebuilds the dashboard rollups and vacuums/analyzes, all timed. Everything from the insert to the rollup rebuild is one database
 * transaction, so a failure leaves the data (and the rollup triggers) as they were.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import * as bcrypt from 'bcrypt';
import { DataSource, type QueryRunner } from 'typeorm';
import { isCurrencyCode, minorUnits } from '../src/common/currencies';
import { dataSourceOptions } from '../src/database/data-source-options';
import {
  BENCH_ADMIN_EMAIL,
  BENCH_PASSWORD,
  EXPENSE_CATEGORIES,
  INCOME_CATEGORIES,
  NOTE_WORDS,
  benchAnalystEmail,
  elapsed,
  openBenchDatabase,
} from '../bench/shared';

interface Options {
  users: number;
  transactions: number;
  reset: boolean;
  append: boolean;
  seed: number;
  /** ISO 4217 codes; the first is the bench analyst's and half of everyone else's. */
  currencies: string[];
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '20' },
      transactions: { type: 'string', default: '1000000' },
      reset: { type: 'boolean', default: false },
      append: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0.42' },
      currencies: { type: 'string', default: 'USD' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:data -- --users 20 --transactions 1000000 [--reset | --append] [--seed 0.42] [--currencies USD,EUR,JPY]',
    );
    process.exit(0);
  }
  const users = Number(values.users);
  const transactions = Number(values.transactions);
  const seed = Number(values.seed);
  if (!Number.isInteger(users) || users < 1 || users > 10_000) fail('--users must be 1..10000');
  if (!Number.isInteger(transactions) || transactions < 0 || transactions > 100_000_000)
    fail('--transactions must be 0..100000000');
  if (!(seed >= -1 && seed <= 1)) fail('--seed must be between -1 and 1 (PostgreSQL setseed)');
  if (values.reset && values.append) fail('--reset and --append exclude each other');
  const currencies = values.currencies.split(',').map((c) => c.trim());
  const bad = currencies.filter((c) => !isCurrencyCode(c));
  if (bad.length > 0) fail(`--currencies: not an accepted ISO 4217 code: ${bad.join(', ')}`);
  if (new Set(currencies).size !== currencies.length) fail('--currencies must not repeat a code');
  return { users, transactions, reset: values.reset, append: values.append, seed, currencies };
}

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

async function ensureUsers(q: QueryRunner, count: number): Promise<string[]> {
  const emails = [BENCH_ADMIN_EMAIL];
  for (let i = 1; i < count; i++) emails.push(benchAnalystEmail(i));
  const existing = (await q.query(`SELECT email FROM users WHERE email = ANY($1::text[])`, [
    emails,
  ])) as { email: string }[];
  const missing = emails.filter((e) => !existing.some((row) => row.email === e));
  if (missing.length > 0) {
    // One hash for everyone: bcrypt at cost 10 takes ~70 ms, and the users share a password.
    const hash = await bcrypt.hash(BENCH_PASSWORD, 10);
    await q.query(
      `INSERT INTO users (name, email, password_hash, role)
       SELECT CASE WHEN e = $2 THEN 'Bench Admin' ELSE 'Bench Analyst ' || split_part(split_part(e, '@', 1), '-', 3) END,
              e, $3, CASE WHEN e = $2 THEN 'admin' ELSE 'analyst' END::user_role
       FROM unnest($1::text[]) AS e
       ON CONFLICT (email) DO NOTHING`,
      [missing, BENCH_ADMIN_EMAIL, hash],
    );
  }
  const rows = (await q.query(
    `SELECT id FROM users WHERE email = ANY($1::text[]) ORDER BY array_position($1::text[], email::text)`,
    [emails],
  )) as { id: string }[];
  return rows.map((r) => r.id);
}

/**
 * One row per generate_series value. Dates cover the last 1096 days evenly and arrive in date
 * order, as real rows would (so the heap correlates with date and created_at as in production);
 * owners interleave; created_at falls within the business day (never in the future). Amounts:
 * expenses 1.00-500.00 skewed towards small ones (r^3), incomes (10 %) 100.00-8000.00. Notes:
 * three words from NOTE_WORDS (10 % none). 5 % soft-deleted. The random() calls sit in a
 * subquery so each row draws its own values.
 *
 * Currencies ($6, minor units $7): the bench analyst's rows ($8, owner 2) are all in the first;
 * everyone else's are in the first for half the rows and spread evenly over the others for the
 * rest. The draw is a multiplicative hash of the row number rather than another random(), so a
 * single-currency load draws exactly the random numbers (and makes exactly the data) it always
 * did. An amount in a currency with fewer than 2 minor units is multiplied by 10^(2 - units)
 * (JPY: 12.34 becomes 1234); every amount is rounded to exactly its currency's minor units.
 */
const GENERATE_SQL = `
  INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes, created_at, updated_at, deleted_at)
  SELECT
    g.owner,
    CASE WHEN g.r_type < 0.1 THEN 'income' ELSE 'expense' END::transaction_type,
    round(CASE WHEN g.r_type < 0.1 THEN (100 + 7900 * g.r_amount ^ 2)::numeric
               ELSE (1 + 499 * g.r_amount ^ 3)::numeric END
          * 10::numeric ^ greatest(2 - ($7::int[])[g.cur], 0), ($7::int[])[g.cur]),
    ($6::text[])[g.cur],
    CASE WHEN g.r_type < 0.1 THEN ($3::text[])[1 + floor(g.r_category * cardinality($3::text[]))::int]
         ELSE ($4::text[])[1 + floor(g.r_category * cardinality($4::text[]))::int] END,
    g.day,
    CASE WHEN g.r_notes < 0.1 THEN NULL
         ELSE ($5::text[])[1 + floor(g.r_w1 * cardinality($5::text[]))::int] || ' ' ||
              ($5::text[])[1 + floor(g.r_w2 * cardinality($5::text[]))::int] || ' ' ||
              ($5::text[])[1 + floor(g.r_w3 * cardinality($5::text[]))::int] END,
    g.created, g.created,
    CASE WHEN g.r_deleted < 0.05 THEN least(g.created + interval '3 days', now()) END
  FROM (
    SELECT s.*, least((s.day + s.r_time * interval '1 day')::timestamptz, now()) AS created,
      CASE WHEN cardinality($6::text[]) = 1 OR s.owner = $8::uuid OR s.r_currency < 0.5 THEN 1
           ELSE 2 + floor((s.r_currency - 0.5) * 2 * (cardinality($6::text[]) - 1))::int END AS cur
    FROM (
      SELECT i, random() AS r_type, random() AS r_amount, random() AS r_category,
             random() AS r_notes, random() AS r_w1, random() AS r_w2, random() AS r_w3,
             random() AS r_deleted, random() AS r_time,
             ((i::bigint * 2654435761) % 4294967296)::float8 / 4294967296 AS r_currency,
             ($1::uuid[])[1 + (i % cardinality($1::uuid[]))] AS owner,
             current_date - 1095 + ((i - 1)::bigint * 1096 / $2::int)::int AS day
      FROM generate_series(1, $2::int) AS i
    ) s
  ) g`;

/**
 * Usual values of one unit in USD, for the rates the generator writes; any other currency gets
 * 1. Rates vary slowly around these (a yearly sine of ±3.5 % plus a four-yearly one of ±1 %).
 */
const USD_VALUE: Record<string, number> = {
  EUR: 1.1,
  GBP: 1.27,
  JPY: 0.0067,
  CHF: 1.13,
  CAD: 0.74,
  AUD: 0.66,
  CNY: 0.14,
  SEK: 0.095,
  KWD: 3.25,
};

/**
 * One rate a day for each currency into the base currency ($1 codes, $2 their USD values, $3 the
 * base, $4 the base's USD value), over the whole range of the generated dates and a week past
 * today, at 6 decimals. Existing rates of those days are replaced.
 */
const RATES_SQL = `
  INSERT INTO exchange_rates AS e (base, quote, date, rate)
  SELECT c.code, $3::char(3), d.day::date,
    round((c.usd / $4::float8 * (1 + 0.035 * sin(2 * pi() * (d.day::date - current_date) / 365.0 + c.n)
                                    + 0.01 * sin(2 * pi() * (d.day::date - current_date) / 1461.0)))::numeric, 6)
  FROM unnest($1::text[], $2::float8[]) WITH ORDINALITY AS c(code, usd, n)
  CROSS JOIN generate_series(current_date - 1095, current_date + 7, interval '1 day') AS d(day)
  ON CONFLICT (base, quote, date) DO UPDATE SET rate = EXCLUDED.rate, updated_at = now()`;

interface Rebuild {
  what: string;
  sql: string;
}

/**
 * For a bulk load, drops the transactions indexes, primary key and foreign keys and returns the
 * statements that recreate them exactly (from the catalog, so they follow the migrations):
 * building an index once over sorted data is several times faster than maintaining it row by row
 * (1M rows: ~35 s of index maintenance and FK checks versus a few seconds of builds). The primary
 * key stays when another table references it.
 */
async function dropIndexes(q: QueryRunner): Promise<Rebuild[]> {
  const [{ referenced }] = (await q.query(
    `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = 'transactions'::regclass AND contype = 'f') AS referenced`,
  )) as { referenced: boolean }[];
  const constraints = (await q.query(
    `SELECT quote_ident(conname) AS name, contype, pg_get_constraintdef(oid) AS def, conindid
     FROM pg_constraint WHERE conrelid = 'transactions'::regclass AND (contype = 'f' OR conindid <> 0)`,
  )) as { name: string; contype: string; def: string; conindid: number }[];
  const indexes = (await q.query(
    `SELECT i.indexrelid AS oid, i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
     FROM pg_index i WHERE i.indrelid = 'transactions'::regclass`,
  )) as { oid: number; name: string; def: string }[];
  const rebuild: Rebuild[] = [];
  // Foreign keys first: they are checked again, in one pass, when they come back.
  for (const c of constraints.filter((c) => c.contype === 'f')) {
    await q.query(`ALTER TABLE transactions DROP CONSTRAINT ${c.name}`);
    rebuild.push({
      what: c.name,
      sql: `ALTER TABLE transactions ADD CONSTRAINT ${c.name} ${c.def}`,
    });
  }
  const indexRebuilds: Rebuild[] = [];
  for (const index of indexes) {
    const owner = constraints.find(
      (c) => c.contype !== 'f' && Number(c.conindid) === Number(index.oid),
    );
    if (owner) {
      if (referenced) continue;
      await q.query(`ALTER TABLE transactions DROP CONSTRAINT ${owner.name}`);
      indexRebuilds.unshift({
        what: owner.name,
        sql: `ALTER TABLE transactions ADD CONSTRAINT ${owner.name} ${owner.def}`,
      });
    } else {
      await q.query(`DROP INDEX ${index.name}`);
      indexRebuilds.push({ what: index.name, sql: index.def });
    }
  }
  // Keys before plain indexes, foreign keys last (they need the referenced side only).
  return [...indexRebuilds, ...rebuild];
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const total = performance.now();
  const db = await openBenchDatabase();
  const dataSource = new DataSource(
    dataSourceOptions({ url: db.url, poolMax: 2, statementTimeoutMs: 3_600_000 }),
  );
  try {
    let t = performance.now();
    await dataSource.initialize();
    const migrations = await dataSource.runMigrations({ transaction: 'each' });
    console.log(
      `database ${db.embedded ? 'embedded (DATA_DIR)' : 'DATABASE_URL'}: ${migrations.length} migration(s) applied in ${elapsed(t)}`,
    );

    let bulk = false;
    const q = dataSource.createQueryRunner();
    await q.connect();
    try {
      t = performance.now();
      const owners = await ensureUsers(q, opts.users);
      console.log(`users: ${owners.length} bench users ready in ${elapsed(t)}`);

      const [{ n: existing }] = (await q.query(
        `SELECT count(*)::bigint::text AS n FROM transactions`,
      )) as { n: string }[];
      if (Number(existing) > 0 && !opts.reset && !opts.append) {
        fail(
          `transactions already holds ${existing} rows; pass --reset to replace them or --append to add ${opts.transactions} more`,
        );
      }

      await q.startTransaction();
      // Generous memory for this session only: the rollup rebuild groups millions of rows.
      await q.query(`SET LOCAL work_mem = '256MB'`);
      await q.query(`SET LOCAL maintenance_work_mem = '512MB'`);
      await q.query(`SET LOCAL synchronous_commit = off`);
      if (opts.reset) {
        t = performance.now();
        await q.query(`TRUNCATE transactions, rollup_daily, rollup_monthly, rollup_totals`);
        console.log(`reset: transactions and rollups truncated in ${elapsed(t)}`);
      }

      // Only the rollup trigger is disabled (not every user trigger): rollup_rebuild() below
      // recomputes exactly what it would have done, and any other trigger keeps running.
      await q.query(`ALTER TABLE transactions DISABLE TRIGGER transactions_rollup_insert`);
      // A load that at least doubles the table rebuilds its indexes instead of maintaining them.
      const before = opts.reset ? 0 : Number(existing);
      bulk = opts.transactions > 0 && opts.transactions >= before;
      const rebuild = bulk ? await dropIndexes(q) : [];
      await q.query(`SELECT setseed($1)`, [opts.seed]);
      t = performance.now();
      if (opts.transactions > 0) {
        await q.query(GENERATE_SQL, [
          owners,
          opts.transactions,
          INCOME_CATEGORIES,
          EXPENSE_CATEGORIES,
          NOTE_WORDS,
          opts.currencies,
          opts.currencies.map(minorUnits),
          // The bench analyst (benchAnalystEmail(1), whom `npm run bench` logs in as).
          owners[1] ?? null,
        ]);
      }
      console.log(
        `insert: ${opts.transactions} transactions in ${elapsed(t)}` +
          (bulk ? ` (indexes and keys dropped for the load)` : ` (indexes maintained)`),
      );
      if (rebuild.length > 0) {
        t = performance.now();
        const times: string[] = [];
        for (const r of rebuild) {
          const one = performance.now();
          await q.query(r.sql);
          times.push(`${r.what} ${((performance.now() - one) / 1000).toFixed(1)}`);
        }
        console.log(`indexes: ${rebuild.length} rebuilt in ${elapsed(t)} (${times.join(', ')} s)`);
      }
      await q.query(`ALTER TABLE transactions ENABLE TRIGGER transactions_rollup_insert`);

      // Rates into the base currency for every listed currency, and always EUR: the `-fx`
      // scenarios report in EUR, which converts USD rows through the inverse of EUR→USD.
      t = performance.now();
      const base = (process.env.BASE_CURRENCY ?? 'USD').trim() || 'USD';
      const rated = [...new Set([...opts.currencies, 'EUR'])].filter((c) => c !== base);
      const [{ n: rates }] = (await q.query(
        `WITH w AS (${RATES_SQL} RETURNING 1) SELECT count(*)::int AS n FROM w`,
        [rated, rated.map((c) => USD_VALUE[c] ?? 1), base, USD_VALUE[base] ?? 1],
      )) as { n: number }[];
      console.log(
        `rates: ${rates} daily rates ${rated.map((c) => `${c}→${base}`).join(', ')} in ${elapsed(t)}`,
      );

      t = performance.now();
      await q.query(`SELECT rollup_rebuild()`);
      console.log(`rollups: rebuilt in ${elapsed(t)}`);
      t = performance.now();
      await q.commitTransaction();
      console.log(`commit: ${elapsed(t)}`);
    } catch (error) {
      if (q.isTransactionActive) await q.rollbackTransaction();
      throw error;
    } finally {
      await q.release();
    }

    // Vacuum as well as analyze: it sets the visibility map and hint bits now, so index-only
    // scans work and autovacuum does not wake up in the middle of a benchmark. After a bulk load
    // the indexes are fresh and there is nothing dead, so their cleanup pass (a full scan of
    // each GIN index) is skipped.
    t = performance.now();
    await dataSource.query(`VACUUM (ANALYZE${bulk ? ', INDEX_CLEANUP OFF' : ''}) transactions`);
    await dataSource.query(`ANALYZE users, rollup_daily, rollup_monthly, rollup_totals`);
    console.log(`vacuum/analyze: ${elapsed(t)}`);

    const [summary] = await dataSource.query<
      {
        users: number;
        live: number;
        deleted: number;
        first: string | null;
        last: string | null;
        size: string;
      }[]
    >(`
      SELECT (SELECT count(*) FROM users WHERE email LIKE 'bench-%@example.com')::int AS users,
             count(*) FILTER (WHERE deleted_at IS NULL)::int AS live,
             count(*) FILTER (WHERE deleted_at IS NOT NULL)::int AS deleted,
             min(date)::text AS first, max(date)::text AS last,
             pg_size_pretty(pg_total_relation_size('transactions')) AS size
      FROM transactions`);
    console.log(
      `summary: ${summary.users} bench users, ${summary.live} live + ${summary.deleted} deleted transactions ` +
        `(${summary.first ?? '-'} .. ${summary.last ?? '-'}), table with indexes ${summary.size}; total ${elapsed(total)}`,
    );
    const byCurrency = await dataSource.query<{ currency: string; n: number }[]>(
      `SELECT currency, count(*)::int AS n FROM transactions GROUP BY 1 ORDER BY 2 DESC, 1`,
    );
    console.log(`currencies: ${byCurrency.map((c) => `${c.currency} ${c.n}`).join(', ') || '-'}`);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`bench:data: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
