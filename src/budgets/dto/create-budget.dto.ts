import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  Min,
} from 'class-validator';
import {
  CodePointLength,
  FitsCurrencySent,
  IsCurrencyCode,
  IsMoney,
  MoneyString,
  Omittable,
  Trim,
} from '../../common/validators';
import { BUDGET_PERIODS, type BudgetPeriod } from '../entities/budget.entity';

/** 1-10 distinct whole percentages of the amount, 1-1000 each. */
export const Thresholds = () =>
  applyDecorators(
    ApiProperty({
      required: false,
      type: 'array',
      items: { type: 'integer', minimum: 1, maximum: 1000 },
      example: [80, 100],
      minItems: 1,
      maxItems: 10,
      uniqueItems: true,
    }),
    Omittable(),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(10),
    ArrayUnique(),
    IsInt({ each: true }),
    Min(1, { each: true }),
    Max(1000, { each: true }),
  );

export const DEFAULT_THRESHOLDS = [80, 100];

export class CreateBudgetDto {
  /** 1-100 characters after trimming. */
  @ApiProperty({ example: 'Travel', minLength: 1, maxLength: 100 })
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name!: string;

  /**
   * The limit per period: a decimal string greater than zero, up to 12 integer digits and at most
   * the currency's minor units of decimals.
   */
  @ApiProperty({ type: String, example: '1500.00', pattern: '^\\d{1,12}(\\.\\d{1,3})?$' })
  @MoneyString()
  @IsMoney()
  @FitsCurrencySent({ orBase: true })
  amount!: string;

  /** ISO 4217 code in upper case; default the server's base currency. */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @Omittable()
  @IsCurrencyCode()
  currency?: string;

  /** The category counted (case-insensitive); null or omitted: all expenses. */
  @ApiProperty({ required: false, nullable: true, type: String, minLength: 1, maxLength: 64 })
  @IsOptional()
  @Trim()
  @IsString()
  @CodePointLength(1, 64)
  category?: string | null;

  @ApiProperty({ enum: BUDGET_PERIODS, enumName: 'BudgetPeriod' })
  @IsIn(BUDGET_PERIODS)
  period!: BudgetPeriod;

  /** Percentages of the amount that alert when spending reaches them; default `[80, 100]`. */
  @Thresholds()
  thresholds?: number[];

  /** Admins only: a budget of another active user. Others may only name themselves. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;
}
