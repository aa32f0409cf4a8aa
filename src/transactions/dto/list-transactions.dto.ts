import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { ApiProperty } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { PageLimit } from '../../common/pagination';
import { CodePointLength, IsCurrencyCode, IsMoney, QueryInt, Trim } from '../../common/validators';
import { TRANSACTION_TYPES, type TransactionType } from '../entities/transaction.entity';

export const SORTS = ['date', '-date', 'amount', '-amount', 'createdAt', '-createdAt'] as const;
export type Sort = (typeof SORTS)[number];
export const DELETED_MODES = ['exclude', 'include', 'only'] as const;

/**
 * PostgreSQL text cannot hold NUL: refused here, because in the streamed export the database's
 * error would arrive after the response has started.
 */
// eslint-disable-next-line no-control-regex -- the one control character refused
const NO_NUL = /^[^\u0000]*$/;
export type DeletedMode = (typeof DELETED_MODES)[number];

/** The filters shared by the list and the CSV export. */
export class TransactionFiltersDto {
  @ApiProperty({ required: false, enum: TRANSACTION_TYPES, enumName: 'TransactionType' })
  @IsOptional()
  @IsIn(TRANSACTION_TYPES)
  type?: TransactionType;

  /** Exact category, compared case-insensitively; 1-64 characters like a category itself. */
  @ApiProperty({ required: false, minLength: 1, maxLength: 64 })
  @IsOptional()
  @Trim()
  @IsString()
  @CodePointLength(1, 64)
  @Matches(NO_NUL, { message: 'category must not contain NUL characters' })
  category?: string;

  /** Inclusive start date, `YYYY-MM-DD`. */
  @OptionalDate()
  from?: string;

  /** Inclusive end date, `YYYY-MM-DD`. */
  @OptionalDate()
  to?: string;

  /** Only rows in this currency (ISO 4217, upper case). */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;

  /** Only rows booked to this account. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  /**
   * Inclusive lower bound on amount, a decimal string. Amounts compare as numbers whatever their
   * currency; add `currency=` to compare like with like.
   */
  @ApiProperty({ required: false, type: String, example: '10.00' })
  @IsOptional()
  @IsMoney({ allowZero: true })
  minAmount?: string;

  /** Inclusive upper bound on amount, a decimal string. */
  @ApiProperty({ required: false, type: String, example: '500.00' })
  @IsOptional()
  @IsMoney({ allowZero: true })
  maxAmount?: string;

  /** Case-insensitive substring of category or notes. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  @Matches(NO_NUL, { message: 'q must not contain NUL characters' })
  q?: string;

  /** Admins only: one owner's rows. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;

  /** Admins only: `exclude` (default) hides soft-deleted rows, `include` shows all, `only` shows just them. */
  @ApiProperty({ required: false, enum: DELETED_MODES, default: 'exclude' })
  @IsOptional()
  @IsIn(DELETED_MODES)
  deleted?: DeletedMode;

  /** Sort key, `-` for descending; ties are broken by id in the same direction. */
  @ApiProperty({ required: false, enum: SORTS, default: '-date' })
  @IsOptional()
  @IsIn(SORTS)
  sort?: Sort;
}

export class ListTransactionsDto extends TransactionFiltersDto {
  @PageLimit()
  limit?: number;

  /** Page mode: 1-based page number (the default mode). Not together with `cursor`. */
  @ApiProperty({ required: false, minimum: 1, default: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  page?: number;

  /** Cursor mode: send it empty for the first page, then `meta.nextCursor`. Not together with `page`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}
