import { ApiProperty } from '@nestjs/swagger';
import { CursorMeta } from '../../transactions/dto/transaction.response';

export class TransferResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  /** The owner of both accounts. */
  @ApiProperty({ format: 'uuid' })
  ownerId!: string;
  @ApiProperty({ format: 'uuid' })
  fromAccountId!: string;
  @ApiProperty({ format: 'uuid' })
  toAccountId!: string;
  /** Out of the source account, with exactly its currency's minor units. */
  @ApiProperty({ example: '100.00' })
  amount!: string;
  /** The source account's currency (ISO 4217). */
  @ApiProperty({ example: 'USD' })
  currency!: string;
  /** Into the destination account, with exactly its currency's minor units. */
  @ApiProperty({ example: '92.15' })
  toAmount!: string;
  /** The destination account's currency. */
  @ApiProperty({ example: 'EUR' })
  toCurrency!: string;
  /** `toAmount / amount`, rounded half to even to 10 decimals. */
  @ApiProperty({ example: '0.9215000000' })
  rate!: string;
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  date!: string;
  /** `"[masked]"` for auditors reading someone else's transfer. */
  @ApiProperty({ type: String, nullable: true })
  notes!: string | null;
  createdAt!: Date;
}

export class TransferListResponse {
  data!: TransferResponse[];
  meta!: CursorMeta;
}

/** Where a transfer lives (the `Location` of a create). */
export const transferPath = (id: string) => `/api/v1/transfers/${id}`;
