import type { Role } from '../users/entities/user.entity';
import { Injectable } from '@nestjs/common';
import { type Bounds, dailySource, ORG_SCOPE, rollupSource } from '../database/rollups';
import { ReadRouting } from '../database/replicas/read-routing';
import { Params, query } from '../database/sql';
import type { TransactionType } from '../transactions/entities/transaction.entity';
import type { Interval } from './dto/dashboard-query.dto';
import type {
  CategoryTotalResponse,
  SummaryResponse,
  TrendPointResponse,
  UserCountsResponse,
  UserSummaryResponse,
} from './dto/dashboard.response';

/**
 * All dashboard SQL. Reads only the rollup tables (see the rollups migration), never the
 * transactions table, so the cost depends on the number of days and categories in the range, not
 * on the number of transactions. Sums stay NUMERIC and leave as text with two decimals.
 */

export { type Bounds, ORG_SCOPE };

const money = (expr: string) => `coalesce(${expr}, 0)::numeric(20,2)::text`;
const income = `sum(s.total) FILTER (WHERE s.type = 'income')`;
const expenses = `sum(s.total) FILTER (WHERE s.type = 'expense')`;
const SUMMARY_COLUMNS = `${money(income)} AS "totalIncome", ${money(expenses)} AS "totalExpenses",
  ${money(`coalesce(${income}, 0) - coalesce(${expenses}, 0)`)} AS "netBalance",
  coalesce(sum(s.count), 0)::int AS "transactionCount"`;

const PERIOD: Record<Interval, { trunc: string; step: string; label: string }> = {
  month: { trunc: 'month', step: '1 month', label: 'YYYY-MM' },
  week: { trunc: 'week', step: '1 week', label: 'IYYY-"W"IW' },
  year: { trunc: 'year', step: '1 year', label: 'YYYY' },
};

@Injectable()
export class DashboardRepository {
  /** Every dashboard query is a read: from a replica when one is safe to read (ReadRouting). */
  constructor(private readonly reads: ReadRouting) {}

  async summary(scope: string, bounds: Bounds): Promise<SummaryResponse> {
    const params = new Params();
    const [row] = await query<SummaryResponse>(
      await this.reads.reader(),
      `SELECT ${SUMMARY_COLUMNS} FROM (${rollupSource(params, `= ${params.p(scope)}`, bounds)}) s`,
      params.values,
    );
    return row;
  }

  /** Per-user summaries for every user (or one), for the admin overview. */
  async summaryByUser(bounds: Bounds, userId?: string): Promise<UserSummaryResponse[]> {
    const params = new Params();
    const source = rollupSource(params, `<> '${ORG_SCOPE}'`, bounds);
    const only = userId ? `WHERE u.id = ${params.p(userId)}` : '';
    return query<UserSummaryResponse>(
      await this.reads.reader(),
      `SELECT u.id AS "userId", u.name, u.email, ${SUMMARY_COLUMNS}
       FROM users u LEFT JOIN (${source}) s ON s.scope_id = u.id
       ${only} GROUP BY u.id ORDER BY u.created_at, u.id`,
      params.values,
    );
  }

  /**
   * Totals per (type, category) with each category's share of its type's total. The share is
   * rounded half-up exactly: with a and T in cents, floor((a*10000 + T/2) / T) hundredths of a percent.
   */
  async categories(
    scope: string,
    bounds: Bounds,
    type?: TransactionType,
  ): Promise<CategoryTotalResponse[]> {
    const params = new Params();
    const source = rollupSource(params, `= ${params.p(scope)}`, bounds);
    const onlyType = type ? `WHERE s.type = ${params.p(type)}` : '';
    return query<CategoryTotalResponse>(
      await this.reads.reader(),
      `WITH c AS (
         SELECT s.type, s.category, sum(s.total) AS total, sum(s.count) AS count
         FROM (${source}) s ${onlyType} GROUP BY s.type, s.category HAVING sum(s.count) > 0
       ), t AS (SELECT c.*, sum(c.total) OVER (PARTITION BY c.type) AS type_total FROM c)
       SELECT category, type, total::numeric(20,2)::text AS total, count::int AS count,
         (div(total * 20000 + type_total, 2 * type_total) / 100)::numeric(6,2)::text AS share
       FROM t ORDER BY t.total DESC, type, category`,
      params.values,
    );
  }

  /** One point per period from `from` to `to`, zeros included. */
  async trends(
    scope: string,
    interval: Interval,
    from: string,
    to: string,
  ): Promise<TrendPointResponse[]> {
    const params = new Params();
    const p = PERIOD[interval];
    // Weeks straddle months, so they are built from days; months and years may use whole months.
    const source =
      interval === 'week'
        ? dailySource(params, `= ${params.p(scope)}`, { from, to })
        : rollupSource(params, `= ${params.p(scope)}`, { from, to });
    return query<TrendPointResponse>(
      await this.reads.reader(),
      `WITH agg AS (
         SELECT date_trunc('${p.trunc}', s.d::timestamp)::date AS p, ${income} AS inc, ${expenses} AS exp
         FROM (${source}) s GROUP BY 1
       )
       SELECT to_char(g.ts, '${p.label}') AS period, ${money('agg.inc')} AS income, ${money('agg.exp')} AS expenses,
         ${money('coalesce(agg.inc, 0) - coalesce(agg.exp, 0)')} AS net
       FROM generate_series(date_trunc('${p.trunc}', ${params.p(from)}::date::timestamp), ${params.p(to)}::date::timestamp,
         interval '${p.step}') AS g(ts)
       LEFT JOIN agg ON agg.p = g.ts::date
       ORDER BY g.ts`,
      params.values,
    );
  }

  /** First and last day with live transactions in the scope. */
  async extent(scope: string): Promise<{ first: string | null; last: string | null }> {
    const [row] = await query<{ first: string | null; last: string | null }>(
      await this.reads.reader(),
      `SELECT (SELECT r.day::text FROM rollup_daily r WHERE r.scope_id = $1 AND r.count > 0 ORDER BY r.day LIMIT 1) AS first,
              (SELECT r.day::text FROM rollup_daily r WHERE r.scope_id = $1 AND r.count > 0 ORDER BY r.day DESC LIMIT 1) AS last`,
      [scope],
    );
    return row;
  }

  /**
   * Ordinary least squares on monthly totals: x = 0..n-1 over the months [start, end), one line
   * for income and one for expenses, projected for x = n..n+months-1 (end is the current month).
   * All arithmetic is NUMERIC; projections are rounded to cents and floored at zero.
   */
  async forecast(
    scope: string,
    start: string,
    end: string,
    months: number,
  ): Promise<TrendPointResponse[]> {
    return query<TrendPointResponse>(
      await this.reads.reader(),
      `WITH hist AS (
         SELECT (row_number() OVER (ORDER BY g.m) - 1)::numeric AS x,
           coalesce(sum(r.total) FILTER (WHERE r.type = 'income'), 0) AS inc,
           coalesce(sum(r.total) FILTER (WHERE r.type = 'expense'), 0) AS exp
         FROM generate_series($2::date::timestamp, $3::date::timestamp - interval '1 month', interval '1 month') g(m)
         LEFT JOIN rollup_monthly r ON r.scope_id = $1 AND r.month = g.m::date
         GROUP BY g.m
       ), fit AS (
         SELECT count(*)::numeric AS n, sum(x) AS sx, sum(x * x) AS sxx,
           sum(inc) AS si, sum(x * inc) AS sxi, sum(exp) AS se, sum(x * exp) AS sxe FROM hist
       ), coef AS (
         SELECT n, sx, si, se,
           (n * sxi - sx * si) / (n * sxx - sx * sx) AS bi,
           (n * sxe - sx * se) / (n * sxx - sx * sx) AS be
         FROM fit
       ), proj AS (
         SELECT k,
           round(greatest((si - bi * sx) / n + bi * (n + k), 0), 2) AS inc,
           round(greatest((se - be * sx) / n + be * (n + k), 0), 2) AS exp
         FROM coef CROSS JOIN generate_series(0, $4::int - 1) k
       )
       SELECT to_char($3::date::timestamp + make_interval(months => k), 'YYYY-MM') AS period,
         inc::numeric(20,2)::text AS income, exp::numeric(20,2)::text AS expenses, (inc - exp)::numeric(20,2)::text AS net
       FROM proj ORDER BY k`,
      [scope, start, end, months],
    );
  }

  /** First month with live transactions in the scope. */
  async firstMonth(scope: string): Promise<string | null> {
    const [row] = await query<{ first: string | null }>(
      await this.reads.reader(),
      `SELECT r.month::text AS first FROM rollup_monthly r WHERE r.scope_id = $1 AND r.count > 0 ORDER BY r.month LIMIT 1`,
      [scope],
    );
    return row?.first ?? null;
  }

  async userCounts(): Promise<UserCountsResponse> {
    const rows = await query<{ role: Role; active: boolean; n: number }>(
      await this.reads.reader(),
      `SELECT role, is_active AS active, count(*)::int AS n FROM users GROUP BY 1, 2`,
    );
    const counts: UserCountsResponse = {
      total: 0,
      active: 0,
      admin: { active: 0, inactive: 0 },
      analyst: { active: 0, inactive: 0 },
      viewer: { active: 0, inactive: 0 },
      auditor: { active: 0, inactive: 0 },
    };
    for (const r of rows) {
      counts.total += r.n;
      if (r.active) counts.active += r.n;
      counts[r.role][r.active ? 'active' : 'inactive'] += r.n;
    }
    return counts;
  }
}
