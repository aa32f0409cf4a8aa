import {
  Injectable,
  NotFoundException,
  type OnModuleInit,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import Big from 'big.js';
import { AuditService, diff } from '../audit/audit.service';
import { type Actor, assertMayNarrow, ownRowsOf, ownWritesOf, writeOwner } from '../common/access';
import { minorUnits, minorUnitsRule } from '../common/currencies';
import { CursorCodec, keysetPage } from '../common/cursor';
import { todayIn } from '../common/dates';
import { assertIfMatch } from '../common/etag';
import {
  fitsMinorUnits,
  formatMoney,
  keepsValueIn,
  ratio,
  roundConverted,
  subtractMoney,
} from '../common/money';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import type { Conversion } from '../database/rollups';
import type { Queryable } from '../database/sql';
import { inTransaction } from '../database/transaction';
import { parsePeriod, periodOf } from './budget-periods';
import {
  type BudgetChanges,
  type BudgetKeyset,
  type BudgetRow,
  BudgetsRepository,
} from './budgets.repository';
import type {
  BudgetListResponse,
  BudgetResponse,
  BudgetStatusResponse,
} from './dto/budget.response';
import { type CreateBudgetDto, DEFAULT_THRESHOLDS } from './dto/create-budget.dto';
import type { ListBudgetsDto } from './dto/list-budgets.dto';
import type { UpdateBudgetDto } from './dto/update-budget.dto';

const AUDITED_FIELDS = [
  'ownerId',
  'name',
  'amount',
  'currency',
  'category',
  'period',
  'thresholds',
] as const;

const ascending = (values: number[]) => [...values].sort((a, b) => a - b);

/**
 * Budgets (docs/api.md, "Budgets and alerts"). The status reads the dashboards' rollups; the
 * `budget.threshold_crossed` events are written by triggers on `transactions` (budgets and
 * budget-spending migrations), in the transaction of the write that crosses, from running totals
 * the triggers keep for themselves (docs/architecture.md, "Budget alerts").
 */
@Injectable()
export class BudgetsService implements OnModuleInit {
  private readonly cursors: CursorCodec;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: BudgetsRepository,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'budgets');
  }

  /** The alert triggers convert by this instance's BASE_CURRENCY and FX_MAX_AGE_DAYS. */
  async onModuleInit(): Promise<void> {
    await this.repo.saveSettings(this.db, this.config.baseCurrency, this.config.fxMaxAgeDays);
  }

  async create(actor: Actor, dto: CreateBudgetDto): Promise<BudgetResponse> {
    const ownerId = writeOwner(actor, dto.ownerId);
    const currency = dto.currency ?? this.config.baseCurrency;
    return inTransaction(this.db, async (m) => {
      const row = await this.repo.insert(m, {
        ownerId,
        name: dto.name,
        amount: formatMoney(dto.amount, minorUnits(currency)),
        currency,
        category: dto.category ?? null,
        period: dto.period,
        thresholds: ascending(dto.thresholds ?? DEFAULT_THRESHOLDS),
      });
      if (!row) throw new UnprocessableEntityException('ownerId must reference an active user');
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'budget.create',
        entityType: 'budget',
        entityId: row.id,
        changes: diff(null, row, AUDITED_FIELDS),
      });
      return presentBudget(row);
    });
  }

  /** Someone else's budget is simply not found (for callers confined to their own). */
  async findOne(actor: Actor, id: string): Promise<BudgetResponse> {
    return presentBudget(await this.visible(actor, id));
  }

  async list(actor: Actor, q: ListBudgetsDto): Promise<BudgetListResponse> {
    assertMayNarrow(actor, q.ownerId !== undefined ? ['ownerId'] : []);
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    let after: BudgetKeyset | undefined;
    if (q.cursor) {
      after = this.cursors.decode<BudgetKeyset>(q.cursor);
      if (!after || typeof after.c !== 'string' || typeof after.id !== 'string')
        throw invalidCursor();
    }
    const rows = await this.repo.list(ownRowsOf(actor) ?? q.ownerId?.toLowerCase(), limit, after);
    const page = keysetPage(rows, limit, this.cursors, (last) => ({
      c: last.createdKey,
      id: last.id,
    }));
    return {
      data: page.rows.map(({ createdKey: _createdKey, ...row }) => presentBudget(row)),
      meta: { limit, nextCursor: page.nextCursor },
    };
  }

  /** Owner or admin. Emits no threshold event, whatever the new figures. */
  async update(
    actor: Actor,
    id: string,
    dto: UpdateBudgetDto,
    ifMatch?: string,
  ): Promise<BudgetResponse> {
    const sent: BudgetChanges = {
      name: dto.name,
      amount: dto.amount,
      currency: dto.currency,
      category: dto.category,
      period: dto.period,
      thresholds: dto.thresholds && ascending(dto.thresholds),
    };
    if (Object.values(sent).every((v) => v === undefined)) {
      throw validationProblem([
        {
          field: 'body',
          message: 'send at least one of name, amount, currency, category, period, thresholds',
        },
      ]);
    }
    return inTransaction(this.db, async (m) => {
      const before = await this.repo.lock(m, id, ownWritesOf(actor));
      if (!before) throw new NotFoundException('Budget not found');
      if (ifMatch !== undefined) assertIfMatch(ifMatch, presentBudget(before));
      const currency = sent.currency ?? before.currency;
      const units = minorUnits(currency);
      const amount = sent.amount ?? before.amount;
      const fits =
        sent.amount !== undefined ? fitsMinorUnits(amount, units) : keepsValueIn(amount, units);
      if (!fits) {
        throw validationProblem([
          {
            field: sent.amount !== undefined ? 'amount' : 'currency',
            message: `the amount ${amount} does not fit ${currency}: ${minorUnitsRule(currency)}`,
          },
        ]);
      }
      const changes = { ...sent, amount: formatMoney(amount, units) };
      const after = await this.repo.update(m, id, changes);
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'budget.update',
        entityType: 'budget',
        entityId: id,
        changes: diff(before, after, AUDITED_FIELDS),
      });
      return presentBudget(after);
    });
  }

  /** Owner or admin; its alert records go with it. */
  async remove(actor: Actor, id: string): Promise<void> {
    await inTransaction(this.db, async (m) => {
      const before = await this.repo.lock(m, id, ownWritesOf(actor));
      if (!before) throw new NotFoundException('Budget not found');
      await this.repo.delete(m, id);
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'budget.delete',
        entityType: 'budget',
        entityId: id,
        changes: diff(before, null, AUDITED_FIELDS),
      });
    });
  }

  /**
   * Spending in one period (default the current one, in REPORT_TIME_ZONE) from the rollups,
   * converted as the dashboards convert: 422 with `missingRates` when a rate is missing.
   */
  async status(actor: Actor, id: string, label?: string): Promise<BudgetStatusResponse> {
    const budget = await this.visible(actor, id);
    const period =
      label === undefined
        ? periodOf(budget.period, todayIn(this.config.reportTimeZone))
        : parsePeriod(budget.period, label);
    if ('field' in period) throw validationProblem([period]);
    const to: Conversion = {
      currency: budget.currency,
      maxAgeDays: this.config.fxMaxAgeDays,
      base: this.config.baseCurrency,
    };
    const sums = await this.repo.spending(
      budget.ownerId,
      budget.category,
      period.from,
      period.to,
      to,
    );
    if (sums.incomplete) {
      const missingRates = await this.repo.missingRates(
        budget.ownerId,
        budget.category,
        period.from,
        period.to,
        to,
      );
      if (missingRates.length === 0) {
        throw new ServiceUnavailableException({
          message: 'Exchange rates changed while the figures were computed; retry',
          headers: { 'Retry-After': '1' },
        });
      }
      throw new UnprocessableEntityException({
        message: `${missingRates.length === 100 ? 'At least 100' : missingRates.length} exchange rate(s) needed for this budget are missing; add them with PUT /exchange-rates`,
        extensions: { missingRates },
      });
    }
    const units = minorUnits(budget.currency);
    const spent = roundConverted(sums.spent, units, sums.terms);
    const amount = formatMoney(budget.amount, units);
    return {
      budgetId: budget.id,
      period: period.label,
      from: period.from,
      to: period.to,
      amount,
      currency: budget.currency,
      spent,
      remaining: subtractMoney(amount, spent, units),
      percent: ratio(new Big(spent).times(100).toFixed(), amount, 2),
      crossed: reached(budget.thresholds, spent, amount),
    };
  }

  private async visible(actor: Actor, id: string, db?: Queryable): Promise<BudgetRow> {
    const row = await this.repo.find(id, ownRowsOf(actor), db);
    if (!row) throw new NotFoundException('Budget not found');
    return row;
  }
}

/** The thresholds `spent` has reached: spent x 100 >= amount x threshold, exactly. */
export function reached(thresholds: number[], spent: string, amount: string): number[] {
  const hundredfold = new Big(spent).times(100);
  return ascending(thresholds).filter((t) => hundredfold.gte(new Big(amount).times(t)));
}

/** The API body, at exactly the currency's minor units. */
export function presentBudget(row: BudgetRow): BudgetResponse {
  return {
    id: row.id,
    ownerId: row.ownerId,
    name: row.name,
    amount: formatMoney(row.amount, minorUnits(row.currency)),
    currency: row.currency,
    category: row.category,
    period: row.period,
    thresholds: ascending(row.thresholds),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
