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

  /**
   * Run as a background job: 202 with `Location: /api/v1/imports/:id` as soon as the file is
   * received; the same validation and all-or-nothing rule. Not with dryRun or Idempotency-Key.
   */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  async?: boolean;

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

export class ImportJobResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed'] })
  status!: 'queued' | 'running' | 'succeeded' | 'failed';
  /** Whose transactions are imported. */
  @ApiProperty({ format: 'uuid' })
  ownerId!: string;
  @ApiProperty({ enum: ['all', 'partial'] })
  mode!: 'all' | 'partial';
  /** Data rows read so far (updated while it runs). */
  rowsRead!: number;
  /** Rows written: 0 until the import commits (all-or-nothing), then the final count. */
  rowsImported!: number;
  /** Rows refused. */
  skipped!: number;
  /** The first 100 refused rows' problems (a bad header: row 1). */
  @ApiProperty({ type: [ImportRowError] })
  errors!: ImportRowError[];
  /** Why it failed, when it did. */
  @ApiProperty({ type: String, nullable: true })
  detail!: string | null;
  createdAt!: Date;
  @ApiProperty({ type: Date, nullable: true })
  startedAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true })
  finishedAt!: Date | null;
}
