import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import {
  CodePointLength,
  FitsCurrencySent,
  IsCalendarDate,
  IsCurrencyCode,
  IsMoney,
  MoneyString,
  Omittable,
  Trim,
} from '../../common/validators';
import { TRANSACTION_TYPES, type TransactionType } from '../entities/transaction.entity';

export class CreateTransactionDto {
  @ApiProperty({ enum: TRANSACTION_TYPES, enumName: 'TransactionType' })
  @IsIn(TRANSACTION_TYPES)
  type!: TransactionType;

  /**
   * Decimal string greater than zero: up to 12 integer digits and at most the currency's minor
   * units of decimals (`"12.50"` USD, `"1200"` JPY with no decimal point at all, `"1.005"` KWD).
   * A JSON number is accepted if it fits the same rule.
   */
  @ApiProperty({ type: String, example: '12.50', pattern: '^\\d{1,12}(\\.\\d{1,3})?$' })
  @MoneyString()
  @IsMoney()
  @FitsCurrencySent({ orBase: true })
  amount!: string;

  /**
   * ISO 4217 code in upper case (`GET /currencies`). Omitted: the account's currency when
   * `accountId` is given, else the server's base currency.
   */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @Omittable()
  @IsCurrencyCode()
  currency?: string;

  /**
   * The owner's account to book the row to: it must belong to the transaction's owner, not be
   * archived (422), and be in the transaction's currency (422). `null` or omitted: no account.
   */
  @ApiProperty({ required: false, nullable: true, format: 'uuid', type: String })
  @IsOptional()
  @IsUUID()
  accountId?: string | null;

  /** 1-64 characters after trimming; filters compare it case-insensitively. */
  @ApiProperty({ example: 'Groceries', minLength: 1, maxLength: 64 })
  @Trim()
  @IsString()
  @CodePointLength(1, 64)
  category!: string;

  /** Business date, `YYYY-MM-DD`, a real date between 1900-01-01 and 2999-12-31. */
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  @IsCalendarDate()
  date!: string;

  /** Free text, at most 1000 characters; `null` clears it. */
  @ApiProperty({ required: false, nullable: true, maxLength: 1000, type: String })
  @IsOptional()
  @IsString()
  @CodePointLength(0, 1000)
  notes?: string | null;

  /** Admins only: record for another active user. Others may only name themselves. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;
}
