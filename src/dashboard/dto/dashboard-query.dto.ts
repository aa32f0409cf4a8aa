import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { IsCurrencyCode, QueryInt } from '../../common/validators';
import {
  TRANSACTION_TYPES,
  type TransactionType,
} from '../../transactions/entities/transaction.entity';

export const RANGES = ['mtd', 'ytd', 'last30d', 'last12m', 'all'] as const;
export type RangeName = (typeof RANGES)[number];
export const INTERVALS = ['month', 'week', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

export class DashboardQueryDto {
  /** Inclusive start date; not together with `range`. */
  @OptionalDate()
  from?: string;

  /** Inclusive end date; not together with `range`. */
  @OptionalDate()
  to?: string;

  /**
   * A named range ending today in the report time zone (REPORT_TIME_ZONE, UTC by default): `mtd`
   * month to date, `ytd` year to date, `last30d` the last 30 days including today, `last12m` the
   * current month and the 11 before it, `all` (default) everything.
   */
  @ApiProperty({ required: false, enum: RANGES, default: 'all' })
  @IsOptional()
  @IsIn(RANGES)
  range?: RangeName;

  /**
   * The reporting currency (ISO 4217, default the base currency): every figure is converted into
   * it at each transaction's own date's rate (a 422 with `missingRates` when a rate is missing).
   * `recent` lists transactions in their own currencies.
   */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;

  /** Admins only: one user's figures instead of the whole organisation's. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  userId?: string;
}

export class RecentQueryDto extends DashboardQueryDto {
  /** How many transactions, 1-50. */
  @ApiProperty({ required: false, minimum: 1, maximum: 50, default: 10 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(50)
  limit?: number;
}

export class CategoriesQueryDto extends DashboardQueryDto {
  /** Only income or only expense categories. */
  @ApiProperty({ required: false, enum: TRANSACTION_TYPES, enumName: 'TransactionType' })
  @IsOptional()
  @IsIn(TRANSACTION_TYPES)
  type?: TransactionType;
}

export class TrendsQueryDto extends DashboardQueryDto {
  /** Period size: calendar month (`2026-03`), ISO week (`2026-W09`) or year (`2026`). */
  @ApiProperty({ required: false, enum: INTERVALS, default: 'month' })
  @IsOptional()
  @IsIn(INTERVALS)
  interval?: Interval;
}

export class ForecastQueryDto {
  /** The reporting currency, as on the other dashboard routes (default the base currency). */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;

  /** How many months to project, starting with the current month. */
  @ApiProperty({ required: false, minimum: 1, maximum: 12, default: 3 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(12)
  months?: number;

  /** Admins only: one user's forecast instead of the whole organisation's. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  userId?: string;
}
