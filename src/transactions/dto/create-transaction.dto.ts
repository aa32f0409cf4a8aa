import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import {
  CodePointLength,
  IsCalendarDate,
  IsMoney,
  MoneyString,
  Trim,
} from '../../common/validators';
import { TRANSACTION_TYPES, type TransactionType } from '../entities/transaction.entity';

export class CreateTransactionDto {
  @ApiProperty({ enum: TRANSACTION_TYPES, enumName: 'TransactionType' })
  @IsIn(TRANSACTION_TYPES)
  type!: TransactionType;

  /** Decimal string with up to 2 decimals, greater than zero. A JSON number is accepted if it has at most 2 decimals. */
  @ApiProperty({ type: String, example: '12.50', pattern: '^\\d{1,12}(\\.\\d{1,2})?$' })
  @MoneyString()
  @IsMoney()
  amount!: string;

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
