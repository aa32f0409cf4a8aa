import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
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
import { Thresholds } from './create-budget.dto';

/**
 * Any subset of the fields; an absent field is left alone. `category: null` makes it a budget of
 * all expenses. The owner does not change. A change emits no threshold event.
 */
export class UpdateBudgetDto {
  @ApiProperty({ required: false, minLength: 1, maxLength: 100 })
  @Omittable()
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name?: string;

  /** At most the minor units of the budget's currency (the new one, when it changes too). */
  @ApiProperty({
    required: false,
    type: String,
    example: '1500.00',
    pattern: '^\\d{1,12}(\\.\\d{1,3})?$',
  })
  @Omittable()
  @MoneyString()
  @IsMoney()
  @FitsCurrencySent()
  amount?: string;

  /** A new currency: the amount must fit its minor units (send a new amount with it if not). */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @Omittable()
  @IsCurrencyCode()
  currency?: string;

  @ApiProperty({ required: false, nullable: true, type: String, minLength: 1, maxLength: 64 })
  @IsOptional()
  @Trim()
  @IsString()
  @CodePointLength(1, 64)
  category?: string | null;

  @ApiProperty({ required: false, enum: BUDGET_PERIODS, enumName: 'BudgetPeriod' })
  @Omittable()
  @IsIn(BUDGET_PERIODS)
  period?: BudgetPeriod;

  @Thresholds()
  thresholds?: number[];
}
