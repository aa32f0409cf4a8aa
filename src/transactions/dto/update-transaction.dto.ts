import { OmitType, PartialType } from '@nestjs/swagger';
import { CreateTransactionDto } from './create-transaction.dto';

/** Any subset of the fields; the owner cannot be changed. */
export class UpdateTransactionDto extends PartialType(
  OmitType(CreateTransactionDto, ['ownerId'] as const),
) {}
