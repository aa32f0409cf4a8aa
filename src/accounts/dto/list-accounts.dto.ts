import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsUUID } from 'class-validator';
import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { CursorQueryDto } from '../../common/pagination';
import { QueryBoolean } from '../../common/validators';

export class ListAccountsDto extends CursorQueryDto {
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
}

export class BalanceQueryDto {
  /** Count rows dated on or before this day, `YYYY-MM-DD`; default today (UTC). */
  @OptionalDate()
  asOf?: string;
}
