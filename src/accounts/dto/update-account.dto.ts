import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsString } from 'class-validator';
import { CodePointLength, IsCurrencyCode, Omittable, Trim } from '../../common/validators';
import { ACCOUNT_TYPES, type AccountType } from '../entities/account.entity';

/**
 * Any subset of the fields; an absent field is left alone and a `null` is refused (400). The
 * owner, the opening balance and the opening date do not change.
 */
export class UpdateAccountDto {
  @ApiProperty({ required: false, minLength: 1, maxLength: 100 })
  @Omittable()
  @Trim()
  @IsString()
  @CodePointLength(1, 100)
  name?: string;

  @ApiProperty({ required: false, enum: ACCOUNT_TYPES, enumName: 'AccountType' })
  @Omittable()
  @IsIn(ACCOUNT_TYPES)
  type?: AccountType;

  /** An archived account takes no new transactions or transfers; its history stays. */
  @ApiProperty({ required: false })
  @Omittable()
  @IsBoolean()
  archived?: boolean;

  /**
   * Only while no transaction or transfer, live or deleted, references the account (else 409);
   * the opening balance must keep its value in the new currency's minor units (else 400).
   */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @Omittable()
  @IsCurrencyCode()
  currency?: string;
}
