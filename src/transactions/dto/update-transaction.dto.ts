import { ApiProperty, OmitType, PartialType } from '@nestjs/swagger';
import { FitsCurrencySent, IsMoney, MoneyString, Omittable } from '../../common/validators';
import { CreateTransactionDto } from './create-transaction.dto';

/**
 * Any subset of the fields; the owner cannot be changed. An absent field is left alone, but a
 * `null` is validated (and refused) except for `notes`, whose own `@IsOptional` lets null clear it:
 * the default `PartialType` would wave `null` through to a NOT NULL column.
 */
export class UpdateTransactionDto extends PartialType(
  OmitType(CreateTransactionDto, ['ownerId', 'amount'] as const),
  { skipNullProperties: false },
) {
  /**
   * As on create. Without `currency` the amount is judged by the row's own currency (or, with a
   * new `accountId`, the account's), not by the base currency.
   */
  @ApiProperty({
    required: false,
    type: String,
    example: '12.50',
    pattern: '^\\d{1,12}(\\.\\d{1,3})?$',
  })
  @MoneyString()
  @Omittable()
  @IsMoney()
  @FitsCurrencySent()
  amount?: string;
}
