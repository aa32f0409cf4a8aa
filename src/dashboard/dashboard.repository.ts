import type { Role } from '../common/roles';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  type Bounds,
  type Conversion,
  convertedMonthsFill,
  convertedRollups,
  convertedTotalsFill,
  missingRatesSql,
  ORG_SCOPE,
  ownRollups,
} from '../database/rollups';
import { addDays } from '../common/dates';
import { AppConfig } from '../config/app-config';
import { ReadRouting } from '../database/replicas/read-routing';
import { poolReads } from '../database/transaction';
import { Params, type Queryable, query } from '../database/sql';
import type { TransactionType } from '../transactions/entities/transaction.entity';
import {
  CACHED,
  categoriesStatement,
  OWN_FLAG,
  ownAnswer,
  type Statement,
  summaryStatement,
  TOTALS,
  trendsStatement,
} from './dashboard-statements';
import type { Interval } from './dto/dashboard-query.dto';
import type { MissingRate, UserCountsResponse } from './dto/dashboard.response';

/**
 * The dashboard's reads (the statements the benchmark compares are built in
 * dashboard-statements.ts). Reads only the rollup tables (see the rollups and money migrations),
 * never the transactions table, so the cost depends on the number of days, categories and currencies in
 * the range, not on the number of transactions. Figures leave exact and unrounded, as text, in
 * the reporting currency (`convertedRollups`), each with whether a rate was missing; the service
 * rounds each once.
 */

export { type Bounds, type Conversion, ORG_SCOPE };

/** Exact sums in the reporting currency; `incomplete` when a rate behind them is missing. */
export interface ExactTotals {
  income: string;
  expenses: string;
  count: number;
  incomplete: boolean;
}

/** One currency's own figures, unconverted. */
export interface CurrencyTotals {
  currency: string;
  income: string;
  expenses: string;
  count: number;
}

/**
 * Every statement here reads only the rollup tables by their keys, so its best plan does not
 * depend on the scope or the dates: prepared, it is parsed once per connection (PostgreSQL
 * decides whether to plan it again per execution; docs/performance.md,
 * "Own-currency reads first").
 */
const PREPARED = { prepare: true };

/** How often one scope's converted months are brought up to date, at most. */
const FILL_EVERY_MS = 1_000;

/**
 * How long a read that found other currencies in range sends the same scope, range and currency
 * straight to the converting statement (`inReportingCurrency`).
 */
const CONVERTING_HINT_MS = 1_000;

/** How many scopes' fills may wait at once; a read of a scope beyond them stores nothing. */
const MAX_QUEUED = 1_000;

/** The scope of the admin overview's per-user figures: every user's rollups. */
export const EVERY_USER = `<> '${ORG_SCOPE}'`;

@Injectable()
export class DashboardRepository implements OnModuleDestroy {
  private readonly logger = new Logger(DashboardRepository.name);
  /** When each (scope, conversion) was last brought up to date. */
  private readonly filled = new Map<string, number>();
  /** When a read of each (scope, currency, range) last found other currencies in range. */
  private readonly converting = new Map<string, number>();
  /** Fills waiting, by (scope, conversion); they run one at a time (`drain`). */
  private readonly queued = new Map<string, { scope: string; to: Conversion }>();
  /** The fills under way: they share the primary's pool with requests, so one at a time. */
  private filling?: Promise<void>;
  private closing = false;

  /** The fills' connection: the primary's pool, prepared as ReadRouting prepares reads. */
  private readonly primary: Queryable;

  /** Every dashboard query is a read: from a replica when one is safe to read (ReadRouting). */
  constructor(
    private readonly reads: ReadRouting,
    @InjectDataSource() primary: DataSource,
    config: AppConfig,
  ) {
    this.primary = poolReads(primary, !config.databaseDirectUrl);
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    await this.filling;
  }

  /**
   * Brings the converted months and all-time totals of `scope` (a user, the organisation, or
   * EVERY_USER) up to date now, on the primary (`convertedMonthsFill`, then `convertedTotalsFill`
   * from those months).
   */
  async refreshConverted(scope: string, to: Conversion): Promise<void> {
    for (const fill of [convertedMonthsFill, convertedTotalsFill]) {
      const params = new Params();
      const which = scope === EVERY_USER ? EVERY_USER : `= ${params.p(scope)}`;
      await this.primary.query(fill(params, which, to), params.values);
    }
  }

  /**
   * After a converted read: `refreshConverted` off the request (a read converts any month that
   * is not current from its days, so this only decides how soon the next read is fast). At most
   * once a second per scope and conversion, queued behind the fill under way (one at a time per
   * instance, at most MAX_QUEUED waiting), none once the app is closing; a failure is logged and
   * a later read tries again.
   */
  private fillConverted(scope: string, to: Conversion): void {
    const key = `${scope} ${to.currency} ${to.base} ${to.maxAgeDays}`;
    if (this.closing || this.queued.has(key) || this.queued.size >= MAX_QUEUED) return;
    if (Date.now() - (this.filled.get(key) ?? -Infinity) < FILL_EVERY_MS) return;
    this.queued.set(key, { scope, to });
    if (!this.filling) this.startFilling();
  }

  private startFilling(): void {
    this.filling = this.drain().finally(() => {
      this.filling = undefined;
      // Queued after the loop ended but before this ran: nothing else would start them.
      if (this.queued.size > 0 && !this.closing) this.startFilling();
    });
  }

  /** Runs the queued fills in turn, those queued meanwhile too (a Map iterates its additions). */
  private async drain(): Promise<void> {
    for (const [key, { scope, to }] of this.queued) {
      if (this.closing) return;
      if (this.filled.size >= 10_000) this.filled.clear();
      this.filled.set(key, Date.now());
      await this.refreshConverted(scope, to).catch((error: unknown) =>
        this.logger.warn(`Converted months not stored: ${String(error)}`),
      );
      this.queued.delete(key);
    }
  }

  /** The totals in the reporting currency, and each currency's own (transactions counted). */
  async summary(
    scope: string,
    bounds: Bounds,
    to: Conversion,
  ): Promise<ExactTotals & { byCurrency: CurrencyTotals[] }> {
    const [row] = await this.inReportingCurrency<ExactTotals & { byCurrency: CurrencyTotals[] }>(
      scope,
      bounds,
      to,
      summaryStatement(scope, bounds, to),
    );
    return row;
  }

  /** Per-user totals in the reporting currency for every user (or one), for the admin overview. */
  async summaryByUser(
    bounds: Bounds,
    to: Conversion,
    userId?: string,
  ): Promise<(ExactTotals & { userId: string; name: string; email: string })[]> {
    return this.inReportingCurrency(EVERY_USER, bounds, to, (params, rollups, flag) => {
      const ctes = rollups(params, EVERY_USER, bounds, to, { byCategory: false, ...CACHED });
      const only = userId ? `WHERE u.id = ${params.p(userId)}` : '';
      return `WITH ${ctes}
       SELECT u.id AS "userId", u.name, u.email, ${TOTALS}${flag}
       FROM users u LEFT JOIN conv s ON s.scope_id = u.id
       ${only} GROUP BY u.id ORDER BY u.created_at, u.id`;
    });
  }

  /** Exact totals per (type, category) in the reporting currency. */
  async categories(
    scope: string,
    bounds: Bounds,
    to: Conversion,
    type?: TransactionType,
  ): Promise<(ExactTotals & { type: TransactionType; category: string; total: string })[]> {
    return this.inReportingCurrency(
      scope,
      bounds,
      to,
      categoriesStatement(scope, bounds, to, type),
    );
  }

  /**
   * Trend points in the reporting currency (`trendsStatement`). `limit` is the service's cap on
   * weeks, checked without reading the range's extent first.
   */
  async trends(
    scope: string,
    interval: Interval,
    bounds: Bounds,
    today: string,
    into: Conversion,
    limit?: number,
  ): Promise<(ExactTotals & { period: string })[]> {
    const statement = trendsStatement(scope, interval, bounds, today, into, limit);
    // Weekly trends convert from days, never from the stored months.
    return this.inReportingCurrency(scope, bounds, into, statement, interval !== 'week');
  }

  /**
   * A dashboard read in the reporting currency. First from that currency's rollup rows alone
   * (`ownRollups`): one small statement, the answer whenever the range holds no live rows of
   * another currency. Else, or when that gave no rows (an empty scope, or one of other currencies
   * only), the converting statement (`convertedRollups`), after which the scope's stored
   * conversions are brought up to date off the request (`fillConverted`, unless `fill` is false).
   * For CONVERTING_HINT_MS after the first statement found other currencies in range, the same
   * scope, range and currency go straight to the converting one: a hint only, since that
   * statement is right for any rows.
   */
  private async inReportingCurrency<T extends object>(
    scope: string,
    bounds: Bounds,
    to: Conversion,
    statement: Statement,
    fill = true,
  ): Promise<T[]> {
    const reader = await this.reads.reader(PREPARED);
    const key = `${scope} ${to.currency} ${bounds.from ?? ''} ${bounds.to ?? ''}`;
    if (Date.now() - (this.converting.get(key) ?? -Infinity) >= CONVERTING_HINT_MS) {
      const own = new Params();
      const rows = await query<T & { otherCurrencies: boolean }>(
        reader,
        statement(own, ownRollups, OWN_FLAG),
        own.values,
      );
      const answer = ownAnswer<T>(rows);
      if (answer) return answer;
      // Only a range known to hold other currencies: an empty answer says nothing of the range
      // (categories of a type without rows), and would send other kinds of read the long way.
      if (rows[0]?.otherCurrencies) {
        if (this.converting.size >= 10_000) this.converting.clear();
        this.converting.set(key, Date.now());
      }
    }
    const params = new Params();
    const converted = await query<T>(
      reader,
      statement(params, convertedRollups, ''),
      params.values,
    );
    if (fill) this.fillConverted(scope, to);
    return converted;
  }

  /** The rates a conversion of this scope and range lacks (the 422's `missingRates`). */
  async missingRates(scope: string, bounds: Bounds, to: Conversion): Promise<MissingRate[]> {
    const params = new Params();
    return query<MissingRate>(
      await this.reads.reader(PREPARED),
      missingRatesSql(params, `= ${params.p(scope)}`, bounds, to),
      params.values,
    );
  }

  /** The missing rates of any user's figures (the admin overview's `byUser`). */
  async missingRatesOfUsers(bounds: Bounds, to: Conversion): Promise<MissingRate[]> {
    const params = new Params();
    return query<MissingRate>(
      await this.reads.reader(PREPARED),
      missingRatesSql(params, `<> '${ORG_SCOPE}'`, bounds, to),
      params.values,
    );
  }

  /**
   * Ordinary least squares on monthly totals in the reporting currency over the history: from the
   * later of the first month with live transactions and `earliest`, up to the month before `end`
   * (the current month), x = 0..n-1; one line for income and one for expenses, projected for
   * x = n..n+months-1. All arithmetic is NUMERIC; projections are floored at zero and left
   * unrounded for the service. One statement: `start` (null without history) and `basedOn` (n)
   * come back with the projections, which are empty below 2 months of history.
   */
  async forecast(
    scope: string,
    earliest: string,
    end: string,
    months: number,
    to: Conversion,
  ): Promise<{
    start: string | null;
    basedOn: number;
    months: { period: string; income: string; expenses: string; incomplete: boolean }[];
  }> {
    const history = { from: earliest, to: addDays(end, -1) };
    const [row] = await this.inReportingCurrency<{
      start: string | null;
      basedOn: number;
      months: { period: string; income: string; expenses: string; incomplete: boolean }[] | null;
    }>(scope, history, to, (params, rollups, flag) => {
      const sc = params.p(scope);
      const ctes = rollups(params, `= ${sc}`, history, to, { byCategory: false, ...CACHED });
      const s = params.p(earliest);
      const e = params.p(end);
      return `WITH ${ctes}, first AS (
         SELECT (SELECT r.month FROM rollup_monthly r WHERE r.scope_id = ${sc} AND r.count > 0
                 ORDER BY r.month LIMIT 1) AS m
       ), span AS (
         SELECT CASE WHEN first.m IS NULL THEN NULL ELSE greatest(first.m, ${s}::date) END AS start
         FROM first
       ), monthly AS (
         SELECT date_trunc('month', c.d::timestamp)::date AS m,
           sum(c.amount) FILTER (WHERE c.type = 'income') AS inc,
           sum(c.amount) FILTER (WHERE c.type = 'expense') AS exp
         FROM conv c GROUP BY 1
       ), hist AS (
         SELECT (row_number() OVER (ORDER BY g.m) - 1)::numeric AS x,
           coalesce(monthly.inc, 0) AS inc, coalesce(monthly.exp, 0) AS exp
         FROM span CROSS JOIN generate_series(span.start::timestamp,
           ${e}::date::timestamp - interval '1 month', interval '1 month') g(m)
         LEFT JOIN monthly ON monthly.m = g.m::date
       ), fit AS (
         SELECT count(*)::numeric AS n, sum(x) AS sx, sum(x * x) AS sxx,
           sum(inc) AS si, sum(x * inc) AS sxi, sum(exp) AS se, sum(x * exp) AS sxe FROM hist
       ), coef AS (
         SELECT n, sx, si, se,
           (n * sxi - sx * si) / (n * sxx - sx * sx) AS bi,
           (n * sxe - sx * se) / (n * sxx - sx * sx) AS be
         FROM fit WHERE n >= 2
       ), proj AS (
         SELECT k,
           greatest((si - bi * sx) / n + bi * (n + k), 0) AS inc,
           greatest((se - be * sx) / n + be * (n + k), 0) AS exp
         FROM coef CROSS JOIN generate_series(0, ${params.p(months)}::int - 1) k
       )
       SELECT (SELECT start::text FROM span) AS start, (SELECT n::int FROM fit) AS "basedOn",
         (SELECT json_agg(json_build_object(
            'period', to_char(${e}::date::timestamp + make_interval(months => k), 'YYYY-MM'),
            'income', inc::text, 'expenses', exp::text,
            'incomplete', coalesce((SELECT bool_or(c.missing) FROM conv c), false)) ORDER BY k)
          FROM proj) AS months${flag}`;
    });
    return { start: row.start, basedOn: row.basedOn, months: row.months ?? [] };
  }

  async userCounts(): Promise<UserCountsResponse> {
    const rows = await query<{ role: Role; active: boolean; n: number }>(
      await this.reads.reader(PREPARED),
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
