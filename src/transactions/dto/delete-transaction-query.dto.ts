import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { QueryBoolean } from '../../common/validators';

export class DeleteTransactionQueryDto {
  /**
   * Delete for good at once, live or already deleted (docs/api.md section 17): the row cannot be
   * restored and every route answers 404 for it. Default: a soft delete, restorable until the
   * trash retention ends.
   */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  permanent?: boolean;
}
