import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInt } from './validators';

export class PageQueryDto {
  /** 1-based page number. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  /** Page size, 1-100. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
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
