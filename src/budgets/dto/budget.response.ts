import { ApiProperty } from '@nestjs/swagger';
import { CursorMeta } from '../../transactions/dto/transaction.response';
import { BUDGET_PERIODS, type BudgetPeriod } from '../entities/budget.entity';

export class BudgetResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ format: 'uuid' })
  ownerId!: string;
  name!: string;
  /** Decimal string with exactly the currency's minor units. */
  @ApiProperty({ example: '1500.00' })
  amount!: string;
  @ApiProperty({ example: 'USD' })
  currency!: string;
  /** null: all expenses. */
  @ApiProperty({ type: String, nullable: true, example: 'Travel' })
  category!: string | null;
  @ApiProperty({ enum: BUDGET_PERIODS, enumName: 'BudgetPeriod' })
  period!: BudgetPeriod;
  @ApiProperty({ type: 'array', items: { type: 'integer' }, example: [80, 100] })
  thresholds!: number[];
  createdAt!: Date;
  updatedAt!: Date;
}

export class BudgetListResponse {
  data!: BudgetResponse[];
  meta!: CursorMeta;
}

/**
 * Spending against a budget in one period, from the rollups: the owner's live expenses in the
 * category (case-insensitive; every category when the budget has none) dated `from`..`to`
 * (inclusive), converted into the budget's currency at each day's rate.
 */
export class BudgetStatusResponse {
  @ApiProperty({ format: 'uuid' })
  budgetId!: string;
  @ApiProperty({ example: '2026-12' })
  period!: string;
  @ApiProperty({ format: 'date', example: '2026-12-01' })
  from!: string;
  @ApiProperty({ format: 'date', example: '2026-12-31' })
  to!: string;
  @ApiProperty({ example: '1500.00' })
  amount!: string;
  @ApiProperty({ example: 'USD' })
  currency!: string;
  /** Rounded once, half to even, to the currency's minor units. */
  @ApiProperty({ example: '1230.00' })
  spent!: string;
  /** amount - spent; negative when overspent. */
  @ApiProperty({ example: '270.00' })
  remaining!: string;
  /** spent / amount x 100, 2 decimals, half to even. */
  @ApiProperty({ example: '82.00' })
  percent!: string;
  /** The thresholds `spent` has reached, ascending. */
  @ApiProperty({ type: 'array', items: { type: 'integer' }, example: [80] })
  crossed!: number[];
}

export const budgetPath = (id: string) => `/api/v1/budgets/${id}`;
