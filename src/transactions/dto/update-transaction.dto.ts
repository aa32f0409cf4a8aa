import { OmitType, PartialType } from '@nestjs/swagger';
import { CreateTransactionDto } from './create-transaction.dto';

/**
 * Any subset of the fields; the owner cannot be changed. An absent field is left alone, but a
 * `null` is validated (and refused) except for `notes`, whose own `@IsOptional` lets null clear it:
 * the default `PartialType` would wave `null` through to a NOT NULL column.
 */
export class UpdateTransactionDto extends PartialType(
  OmitType(CreateTransactionDto, ['ownerId'] as const),
  { skipNullProperties: false },
) {}
