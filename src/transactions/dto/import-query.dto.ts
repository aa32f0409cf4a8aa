import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsUUID } from 'class-validator';
import { QueryBoolean } from '../../common/validators';

export class ImportQueryDto {
  /** Validate only: answers 200 with what the import would do, writes nothing. */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  dryRun?: boolean;

  /** `all` (default): any bad row fails the whole file with 422. `partial`: write the good rows, report the bad ones. */
  @ApiProperty({ required: false, enum: ['all', 'partial'], default: 'all' })
  @IsOptional()
  @IsIn(['all', 'partial'])
  mode?: 'all' | 'partial';

  /** Admins only: import for this active user. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;
}

export class ImportRowError {
  /** Line number in the file; the header is line 1. */
  row!: number;
  field!: string;
  message!: string;
}

export class ImportResultResponse {
  /** Rows written (or, on a dry run, rows that would be written). */
  imported!: number;
  /** Rows refused. */
  skipped!: number;
  /** The first 100 refused rows' problems. */
  @ApiProperty({ type: [ImportRowError] })
  errors!: ImportRowError[];
}
