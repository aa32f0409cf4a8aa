import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID } from 'class-validator';
import {
  CodePointLength,
  IsCalendarDate,
  IsMoney,
  MoneyString,
  Omittable,
} from '../../common/validators';

export class CreateTransferDto {
  /** The account the money leaves: one of your accounts (admins: anyone's), not archived. */
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  fromAccountId!: string;

  /** The account the money arrives in: another account of the same owner, not archived. */
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  toAccountId!: string;

  /**
   * In the source account's currency: a decimal string greater than zero with at most its minor
   * units of decimals. A JSON number is accepted if it fits the same rule.
   */
  @ApiProperty({ type: String, example: '100.00', pattern: '^\\d{1,12}(\\.\\d{1,3})?$' })
  @MoneyString()
  @IsMoney()
  amount!: string;

  /**
   * In the destination account's currency: required when the currencies differ (422), otherwise
   * omitted or equal to `amount` (422).
   */
  @ApiProperty({
    required: false,
    type: String,
    example: '92.15',
    pattern: '^\\d{1,12}(\\.\\d{1,3})?$',
  })
  @Omittable()
  @MoneyString()
  @IsMoney()
  toAmount?: string;

  /** Business date, `YYYY-MM-DD`, a real date between 1900-01-01 and 2999-12-31. */
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  @IsCalendarDate()
  date!: string;

  /** Free text, at most 1000 characters. */
  @ApiProperty({ required: false, nullable: true, maxLength: 1000, type: String })
  @IsOptional()
  @IsString()
  @CodePointLength(0, 1000)
  notes?: string | null;
}
