import { ApiProperty } from '@nestjs/swagger';
import {
  TRANSACTION_TYPES,
  type TransactionType,
} from '../../transactions/entities/transaction.entity';
import { TransactionResponse } from '../../transactions/dto/transaction.response';

export { MissingRateResponse as MissingRate } from '../../common/problem.response';

/** Totals in one currency. */
export class CurrencySummaryResponse {
  /** ISO 4217 code the figures are in. */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  @ApiProperty({ example: '5200.00' })
  totalIncome!: string;
  @ApiProperty({ example: '3100.45' })
  totalExpenses!: string;
  /** totalIncome - totalExpenses, exactly (of the rounded totals). */
  @ApiProperty({ example: '2099.55' })
  netBalance!: string;
  transactionCount!: number;
}

/**
 * Totals in the reporting currency (`currency=`, default the base currency): every transaction
 * converted at its own date's rate, the exact products summed, each total rounded once, half to
 * even, to the currency's minor units.
 */
export class SummaryResponse extends CurrencySummaryResponse {
  /** The same totals per original currency, unconverted, sorted by code. */
  @ApiProperty({ type: [CurrencySummaryResponse] })
  byCurrency!: CurrencySummaryResponse[];
}

export class CategoryTotalResponse {
  category!: string;
  /** The reporting currency. */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  @ApiProperty({ enum: TRANSACTION_TYPES, enumName: 'TransactionType' })
  type!: TransactionType;
  @ApiProperty({ example: '1250.00' })
  total!: string;
  count!: number;
  /** Percentage of that type's (rounded) total, two decimals, rounded half-up. */
  @ApiProperty({ example: '40.32' })
  share!: string;
}

export class TrendPointResponse {
  /** `2026-03` (month), `2026-W09` (ISO week) or `2026` (year). */
  @ApiProperty({ example: '2026-03' })
  period!: string;
  /** The reporting currency. */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  @ApiProperty({ example: '5200.00' })
  income!: string;
  @ApiProperty({ example: '3100.45' })
  expenses!: string;
  @ApiProperty({ example: '2099.55' })
  net!: string;
}

export class ForecastResponse {
  /** How the figures were computed. */
  @ApiProperty({ example: 'ordinary least squares over monthly totals' })
  method!: string;
  /** The reporting currency. */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  /** Complete calendar months the line was fitted to (at most 12). */
  basedOnMonths!: number;
  /** First and last month of the history used, when there was any. */
  @ApiProperty({ type: String, nullable: true, example: '2025-11' })
  historyFrom!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-10' })
  historyTo!: string | null;
  /** Projected months, starting with the current one; empty when history is too short. */
  @ApiProperty({ type: [TrendPointResponse] })
  months!: TrendPointResponse[];
  /** Why there is no forecast, when there is none. */
  @ApiProperty({ type: String, nullable: true })
  note!: string | null;
}

export class UserSummaryResponse extends CurrencySummaryResponse {
  @ApiProperty({ format: 'uuid' })
  userId!: string;
  name!: string;
  email!: string;
}

export class RoleCountsResponse {
  active!: number;
  inactive!: number;
}

export class UserCountsResponse {
  total!: number;
  active!: number;
  admin!: RoleCountsResponse;
  analyst!: RoleCountsResponse;
  viewer!: RoleCountsResponse;
  auditor!: RoleCountsResponse;
}

/** The role-shaped overview: viewers get summary and recent; analysts add categories and trends; admins and auditors add byUser and users (auditors with emails masked). */
export class DashboardResponse {
  summary!: SummaryResponse;
  @ApiProperty({ type: [TransactionResponse] })
  recent!: TransactionResponse[];
  @ApiProperty({ type: [CategoryTotalResponse], required: false })
  categories?: CategoryTotalResponse[];
  @ApiProperty({ type: [TrendPointResponse], required: false })
  trends?: TrendPointResponse[];
  @ApiProperty({ type: [UserSummaryResponse], required: false })
  byUser?: UserSummaryResponse[];
  @ApiProperty({ type: UserCountsResponse, required: false })
  users?: UserCountsResponse;
}
