import { Injectable } from '@nestjs/common';
import {
  assertMayNarrow,
  maskTransaction,
  maskUser,
  ownRowsOf,
  readsOrganisation,
} from '../common/access';
import {
  addDays,
  addMonths,
  startOfIsoWeek,
  startOfMonth,
  startOfYear,
  todayIn,
} from '../common/dates';
import { dateRangeIssues, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { TransactionsRepository } from '../transactions/transactions.repository';
import type { TransactionResponse } from '../transactions/dto/transaction.response';
import type { User } from '../users/entities/user.entity';
import { UsersService } from '../users/users.service';
import { type Bounds, DashboardRepository, ORG_SCOPE } from './dashboard.repository';
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
  DashboardResponse,
  ForecastResponse,
  SummaryResponse,
  TrendPointResponse,
} from './dto/dashboard.response';

const FORECAST_METHOD =
  'ordinary least squares fitted separately to monthly income and monthly expenses over the complete calendar months ' +
  'before the current one (at most 12, starting with the first month that has transactions); ' +
  'projections start with the current month, are rounded to cents and floored at 0.00';
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
    return this.repo.summary(scope.id, this.bounds(q));
  }

  async recent(actor: User, q: RecentQueryDto): Promise<TransactionResponse[]> {
    const scope = await this.scope(actor, q.userId);
    const { from, to } = this.bounds(q);
    const rows = await this.transactions.recent(scope.ownerId, from, to, q.limit ?? 10);
    return rows.map((row) => maskTransaction(actor, row));
  }

  async categories(actor: User, q: CategoriesQueryDto): Promise<CategoryTotalResponse[]> {
    const scope = await this.scope(actor, q.userId);
    return this.repo.categories(scope.id, this.bounds(q), q.type);
  }

  async trends(actor: User, q: TrendsQueryDto): Promise<TrendPointResponse[]> {
    const scope = await this.scope(actor, q.userId);
    return this.trendsFor(scope, this.bounds(q), q.interval ?? 'month');
  }

  async forecast(actor: User, q: ForecastQueryDto): Promise<ForecastResponse> {
    const scope = await this.scope(actor, q.userId);
    const current = startOfMonth(todayIn(this.config.reportTimeZone));
    const first = await this.repo.firstMonth(scope.id);
    const start =
      first === null ? current : first > addMonths(current, -12) ? first : addMonths(current, -12);
    const basedOnMonths = first === null || start >= current ? 0 : monthsBetween(start, current);
    const history =
      basedOnMonths > 0
        ? { historyFrom: start.slice(0, 7), historyTo: addMonths(current, -1).slice(0, 7) }
        : { historyFrom: null, historyTo: null };
    if (basedOnMonths < 2) {
      return {
        method: FORECAST_METHOD,
        basedOnMonths,
        ...history,
        months: [],
        note: `A forecast needs at least 2 complete months of history; there ${basedOnMonths === 1 ? 'is 1' : `are ${basedOnMonths}`}.`,
      };
    }
    const months = await this.repo.forecast(scope.id, start, current, q.months ?? 3);
    return { method: FORECAST_METHOD, basedOnMonths, ...history, months, note: null };
  }

  /** The overview, shaped by role. */
  async overview(actor: User, q: DashboardQueryDto): Promise<DashboardResponse> {
    const scope = await this.scope(actor, q.userId);
    const bounds = this.bounds(q);
    const [summary, latest] = await Promise.all([
      this.repo.summary(scope.id, bounds),
      this.transactions.recent(scope.ownerId, bounds.from, bounds.to, 10),
    ]);
    const recent = latest.map((row) => maskTransaction(actor, row));
    if (actor.role === 'viewer') return { summary, recent };
    const [categories, trends] = await Promise.all([
      this.repo.categories(scope.id, bounds),
      this.trendsFor(scope, bounds, 'month'),
    ]);
    if (!readsOrganisation(actor)) return { summary, recent, categories, trends };
    const [byUser, users] = await Promise.all([
      this.repo.summaryByUser(bounds, q.userId),
      this.repo.userCounts(),
    ]);
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
  ): Promise<TrendPointResponse[]> {
    let { from, to } = bounds;
    if (!from || !to) {
      const extent = await this.repo.extent(scope.id);
      const today = todayIn(this.config.reportTimeZone);
      from ??= extent.first ?? undefined;
      to ??= extent.last && extent.last > today ? extent.last : today;
      if (!from) return [];
      if (from > to) return [];
    }
    // Months (at most 13,200 from 1900 to 2999) and years are bounded by the valid dates, so only
    // weeks are capped: a parameterless /dashboard or /trends must never be refused because one
    // row sits far in the past or future.
    if (interval === 'week' && periodCount(from, to, interval) > MAX_PERIODS) {
      throw validationProblem([
        {
          field: 'interval',
          message: `the range spans more than ${MAX_PERIODS} periods; narrow it or use a longer interval`,
        },
      ]);
    }
    return this.repo.trends(scope.id, interval, from, to);
  }
}

function monthsBetween(start: string, end: string): number {
  const [sy, sm] = start.split('-').map(Number);
  const [ey, em] = end.split('-').map(Number);
  return (ey - sy) * 12 + (em - sm);
}

function periodCount(from: string, to: string, interval: Interval): number {
  if (interval === 'year') return Number(to.slice(0, 4)) - Number(from.slice(0, 4)) + 1;
  if (interval === 'month') return monthsBetween(from, to) + 1;
  const days = (Date.parse(startOfIsoWeek(to)) - Date.parse(startOfIsoWeek(from))) / 86_400_000;
  return days / 7 + 1;
}
