import {
  Injectable,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import {
  assertMayNarrow,
  maskTransaction,
  maskUser,
  ownRowsOf,
  readsOrganisation,
} from '../common/access';
import { addDays, addMonths, startOfMonth, startOfYear, todayIn } from '../common/dates';
import { minorUnits } from '../common/currencies';
import { addMoney, compareMoney, roundConverted, shareOf, subtractMoney } from '../common/money';
import { dateRangeIssues, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { TransactionsRepository } from '../transactions/transactions.repository';
import type { TransactionResponse } from '../transactions/dto/transaction.response';
import type { User } from '../users/entities/user.entity';
import { UsersService } from '../users/users.service';
import {
  type Bounds,
  type Conversion,
  DashboardRepository,
  type ExactTotals,
  ORG_SCOPE,
} from './dashboard.repository';
import type {
  CategoriesQueryDto,
  DashboardQueryDto,
  ForecastQueryDto,
  Interval,
  RecentQueryDto,
  TrendsQueryDto,
} from './dto/dashboard-query.dto';
import type {
  CategoryTotalResponse,
  CurrencySummaryResponse,
  DashboardResponse,
  MissingRate,
  ForecastResponse,
  SummaryResponse,
  TrendPointResponse,
} from './dto/dashboard.response';

const FORECAST_METHOD =
  'ordinary least squares fitted separately to monthly income and monthly expenses over the complete calendar months ' +
  'before the current one (at most 12, starting with the first month that has transactions); ' +
  'projections start with the current month, are floored at zero and rounded half to even to the reporting currency’s minor units';
const MAX_PERIODS = 10_000;

interface Scope {
  /** Rollup scope: a user id, or ORG_SCOPE for the whole organisation. */
  id: string;
  /** Owner filter for base-table reads (undefined = everyone). */
  ownerId?: string;
}

@Injectable()
export class DashboardService {
  constructor(
    private readonly repo: DashboardRepository,
    private readonly transactions: TransactionsRepository,
    private readonly users: UsersService,
    private readonly config: AppConfig,
  ) {}

  async summary(actor: User, q: DashboardQueryDto): Promise<SummaryResponse> {
    const scope = await this.scope(actor, q.userId);
    return this.summaryOf(scope, this.bounds(q), this.conversion(q));
  }

  async recent(actor: User, q: RecentQueryDto): Promise<TransactionResponse[]> {
    const scope = await this.scope(actor, q.userId);
    const { from, to } = this.bounds(q);
    const rows = await this.transactions.recent(scope.ownerId, from, to, q.limit ?? 10);
    return rows.map((row) => maskTransaction(actor, row));
  }

  async categories(actor: User, q: CategoriesQueryDto): Promise<CategoryTotalResponse[]> {
    const scope = await this.scope(actor, q.userId);
    return this.categoriesOf(scope, this.bounds(q), this.conversion(q), q.type);
  }

  async trends(actor: User, q: TrendsQueryDto): Promise<TrendPointResponse[]> {
    const scope = await this.scope(actor, q.userId);
    return this.trendsFor(scope, this.bounds(q), q.interval ?? 'month', this.conversion(q));
  }

  async forecast(actor: User, q: ForecastQueryDto): Promise<ForecastResponse> {
    const scope = await this.scope(actor, q.userId);
    const to = this.conversion(q);
    const current = startOfMonth(todayIn(this.config.reportTimeZone));
    const forecast = await this.repo.forecast(
      scope.id,
      addMonths(current, -12),
      current,
      q.months ?? 3,
      to,
    );
    const { start, basedOn: basedOnMonths } = forecast;
    const history =
      start !== null && basedOnMonths > 0
        ? { historyFrom: start.slice(0, 7), historyTo: addMonths(current, -1).slice(0, 7) }
        : { historyFrom: null, historyTo: null };
    // No history (start null) is 0 months.
    if (start === null || basedOnMonths < 2) {
      return {
        method: FORECAST_METHOD,
        currency: to.currency,
        basedOnMonths,
        ...history,
        months: [],
        note: `A forecast needs at least 2 complete months of history; there ${basedOnMonths === 1 ? 'is 1' : `are ${basedOnMonths}`}.`,
      };
    }
    await this.assertRates(forecast.months, () =>
      this.repo.missingRates(scope.id, { from: start, to: addDays(current, -1) }, to),
    );
    const months = forecast.months.map((p) => ({ period: p.period, ...pointIn(to.currency, p) }));
    return {
      method: FORECAST_METHOD,
      currency: to.currency,
      basedOnMonths,
      ...history,
      months,
      note: null,
    };
  }

  /** The overview, shaped by role. */
  async overview(actor: User, q: DashboardQueryDto): Promise<DashboardResponse> {
    const scope = await this.scope(actor, q.userId);
    const bounds = this.bounds(q);
    const to = this.conversion(q);
    const [summary, latest] = await Promise.all([
      this.summaryOf(scope, bounds, to),
      this.transactions.recent(scope.ownerId, bounds.from, bounds.to, 10),
    ]);
    const recent = latest.map((row) => maskTransaction(actor, row));
    if (actor.role === 'viewer') return { summary, recent };
    const [categories, trends] = await Promise.all([
      this.categoriesOf(scope, bounds, to),
      this.trendsFor(scope, bounds, 'month', to),
    ]);
    if (!readsOrganisation(actor)) return { summary, recent, categories, trends };
    const [exactByUser, users] = await Promise.all([
      this.repo.summaryByUser(bounds, to, q.userId),
      this.repo.userCounts(),
    ]);
    await this.assertRates(exactByUser, () => this.repo.missingRatesOfUsers(bounds, to));
    const byUser = exactByUser.map(({ userId, name, email, ...totals }) => ({
      userId,
      name,
      email,
      ...totalsIn(to.currency, totals),
    }));
    return {
      summary,
      recent,
      categories,
      trends,
      byUser: byUser.map((row) => ({
        ...row,
        email: maskUser(actor, { id: row.userId, email: row.email }).email,
      })),
      users,
    };
  }

  private async summaryOf(scope: Scope, bounds: Bounds, to: Conversion): Promise<SummaryResponse> {
    const { byCurrency, ...exact } = await this.repo.summary(scope.id, bounds, to);
    await this.assertRates([exact], () => this.repo.missingRates(scope.id, bounds, to));
    return {
      ...totalsIn(to.currency, exact),
      byCurrency: byCurrency.map((c) => totalsIn(c.currency, c)),
    };
  }

  /** Rounded totals per category, shares of the rounded totals, largest first. */
  private async categoriesOf(
    scope: Scope,
    bounds: Bounds,
    to: Conversion,
    type?: CategoriesQueryDto['type'],
  ): Promise<CategoryTotalResponse[]> {
    const rows = await this.repo.categories(scope.id, bounds, to, type);
    await this.assertRates(rows, () => this.repo.missingRates(scope.id, bounds, to));
    const units = minorUnits(to.currency);
    const rounded = rows.map((r) => ({ ...r, total: roundConverted(r.total, units, r.count) }));
    const typeTotals = new Map<string, string>();
    for (const r of rounded) {
      typeTotals.set(r.type, addMoney(typeTotals.get(r.type) ?? '0', r.total, units));
    }
    return rounded
      .map((r) => ({
        category: r.category,
        currency: to.currency,
        type: r.type,
        total: r.total,
        count: r.count,
        share: shareOf(r.total, typeTotals.get(r.type)!),
      }))
      .sort(
        (a, b) =>
          compareMoney(b.total, a.total) ||
          (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
          (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
      );
  }

  /** A 422 naming the missing rates when any figure lacked one: never a rate taken as 1. */
  private async assertRates(
    rows: { incomplete: boolean }[],
    missing: () => Promise<MissingRate[]>,
  ): Promise<void> {
    if (!rows.some((r) => r.incomplete)) return;
    const missingRates = await missing();
    if (missingRates.length === 0) {
      // Added between the two reads: the figures are stale, the rates are not missing.
      throw new ServiceUnavailableException({
        message: 'Exchange rates changed while the figures were computed; retry',
        headers: { 'Retry-After': '1' },
      });
    }
    throw new UnprocessableEntityException({
      message: `${missingRates.length === 100 ? 'At least 100' : missingRates.length} exchange rate(s) needed for these figures are missing; add them with PUT /exchange-rates`,
      extensions: { missingRates },
    });
  }

  /** The reporting currency of a dashboard request. */
  private conversion(q: { currency?: string }): Conversion {
    return {
      currency: q.currency ?? this.config.baseCurrency,
      maxAgeDays: this.config.fxMaxAgeDays,
      base: this.config.baseCurrency,
    };
  }

  /** Admins see the organisation or, with userId, one user; everyone else only themselves. */
  private async scope(actor: User, userId: string | undefined): Promise<Scope> {
    assertMayNarrow(actor, userId === undefined ? [] : ['userId']);
    const own = ownRowsOf(actor);
    if (own !== undefined) return { id: own, ownerId: own };
    if (userId === undefined) return { id: ORG_SCOPE };
    await this.users.findVisible(userId, actor);
    return { id: userId, ownerId: userId };
  }

  /** Resolves from/to or a named range (in the report time zone) into inclusive bounds. */
  private bounds(q: DashboardQueryDto): Bounds {
    if (q.range !== undefined && (q.from !== undefined || q.to !== undefined)) {
      throw validationProblem([
        { field: 'range', message: 'send either range or from/to, not both' },
      ]);
    }
    const range = dateRangeIssues(q.from, q.to);
    if (range.length > 0) throw validationProblem(range);
    if (q.range === undefined || q.range === 'all') return { from: q.from, to: q.to };
    const today = todayIn(this.config.reportTimeZone);
    const from = {
      mtd: startOfMonth(today),
      ytd: startOfYear(today),
      last30d: addDays(today, -29),
      last12m: addMonths(today, -11),
    }[q.range];
    return { from, to: today };
  }

  private async trendsFor(
    scope: Scope,
    bounds: Bounds,
    interval: Interval,
    into: Conversion,
  ): Promise<TrendPointResponse[]> {
    const today = todayIn(this.config.reportTimeZone);
    // One statement resolves open bounds too. Months and years are bounded by the valid dates (at
    // most 13,200 months from 1900 to 2999), so a parameterless /dashboard or /trends is never
    // refused because one row sits far in the past or future; weeks are capped: the query
    // returns one point past the cap, and a range that reaches it is refused.
    const cap = interval === 'week' ? MAX_PERIODS : undefined;
    const points = await this.repo.trends(
      scope.id,
      interval,
      bounds,
      today,
      into,
      cap === undefined ? undefined : cap + 1,
    );
    if (cap !== undefined && points.length > cap) {
      throw validationProblem([
        {
          field: 'interval',
          message: `the range spans more than ${cap} periods; narrow it or use a longer interval`,
        },
      ]);
    }
    await this.assertRates(points, () => this.repo.missingRates(scope.id, bounds, into));
    return points.map((p) => ({ period: p.period, ...pointIn(into.currency, p) }));
  }
}

/** Converted totals rounded once, half to even, to the currency's minor units; net of the rounded. */
function totalsIn(
  currency: string,
  t: Pick<ExactTotals, 'income' | 'expenses' | 'count'>,
): CurrencySummaryResponse {
  const units = minorUnits(currency);
  const totalIncome = roundConverted(t.income, units, t.count);
  const totalExpenses = roundConverted(t.expenses, units, t.count);
  return {
    currency,
    totalIncome,
    totalExpenses,
    netBalance: subtractMoney(totalIncome, totalExpenses, units),
    transactionCount: t.count,
  };
}

function pointIn(
  currency: string,
  t: { income: string; expenses: string; count?: number },
): Omit<TrendPointResponse, 'period'> {
  const { totalIncome, totalExpenses, netBalance } = totalsIn(currency, { count: 0, ...t });
  return { currency, income: totalIncome, expenses: totalExpenses, net: netBalance };
}
