import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { CursorQueryDto } from '../../common/pagination';

export class ListTransfersDto extends CursorQueryDto {
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
}
