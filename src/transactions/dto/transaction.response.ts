import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { PageMeta } from '../../common/pagination';
import { TRANSACTION_TYPES, type TransactionType } from '../entities/transaction.entity';

export class TransactionResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ format: 'uuid' })
  ownerId!: string;
  /** The owner's account the row is booked to; null when none. */
  @ApiProperty({ format: 'uuid', type: String, nullable: true })
  accountId!: string | null;
  @ApiProperty({ enum: TRANSACTION_TYPES, enumName: 'TransactionType' })
  type!: TransactionType;
  /** Decimal string with exactly the currency's minor units (`"12.50"` USD, `"1200"` JPY). */
  @ApiProperty({ example: '12.50' })
  amount!: string;
  /** ISO 4217 code. */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  category!: string;
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  date!: string;
  @ApiProperty({ type: String, nullable: true })
  notes!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
  /** Present only when listing with `deleted=include|only`. */
  @ApiProperty({ required: false, nullable: true, type: Date })
  deletedAt?: Date | null;
}

export class CursorMeta {
  @ApiProperty({ example: 20 })
  limit!: number;
  /** Pass as `cursor` for the next page; null at the end. */
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

/**
 * One page of a list. Page mode and cursor mode differ only in `meta`, so the choice sits there:
 * two whole-page schemas in a `oneOf` would overlap on `data` (nothing tells them apart).
 */
@ApiExtraModels(PageMeta, CursorMeta)
export class TransactionListResponse {
  data!: TransactionResponse[];
  /** `{page, limit, total, totalPages}` in page mode, `{limit, nextCursor}` in cursor mode. */
  @ApiProperty({ oneOf: [{ $ref: getSchemaPath(PageMeta) }, { $ref: getSchemaPath(CursorMeta) }] })
  meta!: PageMeta | CursorMeta;
}

/** Where a transaction lives (the `Location` of a create, also stored for idempotent replays). */
export const transactionPath = (id: string) => `/api/v1/transactions/${id}`;

/** A row as answered outside `deleted=include|only` listings: without `deletedAt`. */
export function withoutDeletedAt(row: TransactionResponse): TransactionResponse {
  const { deletedAt: _deletedAt, ...rest } = row;
  return rest;
}
