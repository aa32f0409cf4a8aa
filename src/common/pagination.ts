import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { QueryInt } from './validators';

/** Page sizes of every list: users, transactions, the audit log. */
export const DEFAULT_PAGE_LIMIT = 20;
const MAX_PAGE_LIMIT = 100;

/** The `limit` query parameter of a list. */
export const PageLimit = () =>
  applyDecorators(
    ApiProperty({
      required: false,
      minimum: 1,
      maximum: MAX_PAGE_LIMIT,
      default: DEFAULT_PAGE_LIMIT,
      description: `Page size, 1-${MAX_PAGE_LIMIT}.`,
    }),
    IsOptional(),
    QueryInt(),
    IsInt(),
    Min(1),
    Max(MAX_PAGE_LIMIT),
  );

export class PageQueryDto {
  /** 1-based page number. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @PageLimit()
  limit?: number;
}

/** `limit` and `cursor` of a cursor-paged list (keyset, newest or oldest first). */
export class CursorQueryDto {
  @PageLimit()
  limit?: number;

  /** Empty or absent for the first page, then `meta.nextCursor`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}

export class PageMeta {
  @ApiProperty({ example: 1 })
  page!: number;
  @ApiProperty({ example: 20 })
  limit!: number;
  @ApiProperty({ example: 42 })
  total!: number;
  @ApiProperty({ example: 3 })
  totalPages!: number;
}

export function pageMeta(page: number, limit: number, total: number): PageMeta {
  return { page, limit, total, totalPages: Math.ceil(total / limit) };
}
