import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import {
  CodePointLength,
  IsCalendarDate,
  IsCurrencyCode,
  IsMoney,
  MoneyString,
  Trim,
} from '../../common/validators';
import { ACCOUNT_TYPES, type AccountType } from '../entities/account.entity';

export class CreateAccountDto {
  /** 1-100 characters after trimming. */
  @ApiProperty({ example: 'Everyday checking', minLength: 1, maxLength: 100 })
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name!: string;

  @ApiProperty({ enum: ACCOUNT_TYPES, enumName: 'AccountType' })
  @IsIn(ACCOUNT_TYPES)
  type!: AccountType;

  /** ISO 4217 code in upper case (`GET /currencies`); fixed once anything is booked to it. */
  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsCurrencyCode()
  currency!: string;

  /**
   * The balance on `openingDate`, a decimal string that may be zero or negative (a credit card's
   * debt), with at most the currency's minor units of decimals. Default `"0"`.
   */
  @ApiProperty({
    required: false,
    type: String,
    example: '-250.00',
    pattern: '^-?\\d{1,12}(\\.\\d{1,3})?$',
  })
  @IsOptional()
  @MoneyString(true)
  @IsMoney({ signed: true })
  openingBalance?: string;

  /** `YYYY-MM-DD`; default the day of creation (UTC). */
  @ApiProperty({ required: false, format: 'date', example: '2026-01-01' })
  @IsOptional()
  @IsCalendarDate()
  openingDate?: string;

  /** Admins only: open the account for another active user. Others may only name themselves. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;
}
