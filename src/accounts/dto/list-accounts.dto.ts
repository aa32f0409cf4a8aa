import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { PageLimit } from '../../common/pagination';
import { QueryBoolean } from '../../common/validators';

export class ListAccountsDto {
  /** Admins and auditors only: one owner's accounts. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;

  /** `true` lists archived accounts too (default: only open ones). */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  includeArchived?: boolean;

  @PageLimit()
  limit?: number;

  /** Empty or absent for the first page, then `meta.nextCursor`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}

export class BalanceQueryDto {
  /** Count rows dated on or before this day, `YYYY-MM-DD`; default today (UTC). */
  @OptionalDate()
  asOf?: string;
}
