import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID } from 'class-validator';
import { CursorQueryDto } from '../../common/pagination';

export class ListBudgetsDto extends CursorQueryDto {
  /** Admins and auditors only: one owner's budgets. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;
}

export class BudgetStatusQueryDto {
  /**
   * The period, in the budget's form: `2026-12` (month), `2026-Q4` (quarter) or `2026` (year);
   * default the current one (in REPORT_TIME_ZONE).
   */
  @ApiProperty({
    required: false,
    example: '2026-12',
    pattern: '^\\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$',
  })
  @IsOptional()
  @IsString()
  period?: string;
}
