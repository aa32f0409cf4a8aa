import { OmitType, PartialType } from '@nestjs/swagger';
import { CreateTransactionDto } from './create-transaction.dto';

/**
 * Any subset of the fields; the owner cannot be changed. A field may be left out but not sent as
 * `null` (that would reach a NOT NULL column as a 500), except `notes`, whose own `@IsOptional()`
 * keeps `null` meaning "clear it".
 */
export class UpdateTransactionDto extends PartialType(
  OmitType(CreateTransactionDto, ['ownerId'] as const),
  { skipNullProperties: false },
) {}
