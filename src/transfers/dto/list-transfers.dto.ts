import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { PageLimit } from '../../common/pagination';

export class ListTransfersDto {
  /** Only transfers out of or into this account. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  /** Inclusive start date, `YYYY-MM-DD`. */
  @OptionalDate()
  from?: string;

  /** Inclusive end date, `YYYY-MM-DD`. */
  @OptionalDate()
  to?: string;

  @PageLimit()
  limit?: number;

  /** Empty or absent for the first page, then `meta.nextCursor`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}
