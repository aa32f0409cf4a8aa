import { ApiProperty } from '@nestjs/swagger';
import { CursorMeta } from '../../transactions/dto/transaction.response';
import { ACCOUNT_TYPES, type AccountType } from '../entities/account.entity';

export class AccountResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ format: 'uuid' })
  ownerId!: string;
  name!: string;
  @ApiProperty({ enum: ACCOUNT_TYPES, enumName: 'AccountType' })
  type!: AccountType;
  /** ISO 4217 code. */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  /** Decimal string with exactly the currency's minor units; may be negative. */
  @ApiProperty({ example: '100.00' })
  openingBalance!: string;
  @ApiProperty({ format: 'date', example: '2026-01-01' })
  openingDate!: string;
  archived!: boolean;
  /** As `GET /accounts/{id}/balance` answers for today (UTC): future-dated rows excluded. */
  @ApiProperty({ example: '1234.50' })
  balance!: string;
  createdAt!: Date;
  updatedAt!: Date;
}

export class AccountListResponse {
  data!: AccountResponse[];
  meta!: CursorMeta;
}

/**
 * An account's balance on a day: every figure a decimal string with exactly the account
 * currency's minor units; `balance = openingBalance + income - expenses + transfersIn - transfersOut`.
 */
export class AccountBalanceResponse {
  @ApiProperty({ format: 'uuid' })
  accountId!: string;
  @ApiProperty({ example: 'USD' })
  currency!: string;
  @ApiProperty({ format: 'date', example: '2026-03-31' })
  asOf!: string;
  @ApiProperty({ example: '100.00' })
  openingBalance!: string;
  /** Live income booked to the account, dated on or before `asOf`. */
  @ApiProperty({ example: '2500.00' })
  income!: string;
  /** Live expenses booked to the account, dated on or before `asOf`. */
  @ApiProperty({ example: '1200.00' })
  expenses!: string;
  /** Live transfers into the account (their `toAmount`), dated on or before `asOf`. */
  @ApiProperty({ example: '300.00' })
  transfersIn!: string;
  /** Live transfers out of the account (their `amount`), dated on or before `asOf`. */
  @ApiProperty({ example: '50.00' })
  transfersOut!: string;
  @ApiProperty({ example: '1650.00' })
  balance!: string;
}

/** Where an account lives (the `Location` of a create). */
export const accountPath = (id: string) => `/api/v1/accounts/${id}`;
