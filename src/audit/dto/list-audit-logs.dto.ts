import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { CursorQueryDto } from '../../common/pagination';

/**
 * What the audit log records: the actions and the kinds of row they change. Declared with the
 * query and response shapes that expose them as enums, and imported by the service that writes
 * entries, so the DTO does not import its service (an import cycle).
 */
export const AUDIT_ACTIONS = [
  'user.create',
  'user.update',
  'user.erase',
  'transaction.create',
  'transaction.update',
  'transaction.delete',
  'transaction.restore',
  'transaction.purge',
  'transaction.import',
  'auth.login_failed',
  'auth.refresh_reuse',
  'api_key.create',
  'api_key.revoke',
  'exchange_rate.set',
  'exchange_rate.delete',
  'account.create',
  'account.update',
  'account.delete',
  'transfer.create',
  'transfer.delete',
  'transfer.restore',
  'transfer.purge',
  'budget.create',
  'budget.update',
  'budget.delete',
  'user.export',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_ENTITY_TYPES = [
  'user',
  'transaction',
  'api_key',
  'exchange_rate',
  'account',
  'transfer',
  'budget',
] as const;
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number];

export class ListAuditLogsDto extends CursorQueryDto {
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  actorId?: string;

  @ApiProperty({ required: false, enum: AUDIT_ENTITY_TYPES })
  @IsOptional()
  @IsIn(AUDIT_ENTITY_TYPES)
  entityType?: AuditEntityType;

  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  entityId?: string;

  @ApiProperty({ required: false, enum: AUDIT_ACTIONS })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS)
  action?: AuditAction;

  /** Inclusive start day (UTC), `YYYY-MM-DD`. */
  @OptionalDate()
  from?: string;

  /** Inclusive end day (UTC), `YYYY-MM-DD`. */
  @OptionalDate()
  to?: string;
}

export class AuditLogResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  at!: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  actorId!: string | null;
  @ApiProperty({ enum: AUDIT_ACTIONS })
  action!: AuditAction;
  @ApiProperty({ enum: AUDIT_ENTITY_TYPES })
  entityType!: AuditEntityType;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  entityId!: string | null;
  /** Before/after values of the changed fields; never a password, hash or token. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  changes!: Record<string, unknown>;
  @ApiProperty({ type: String, nullable: true })
  requestId!: string | null;
  @ApiProperty({ type: String, nullable: true })
  ip!: string | null;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The API key the change was made with; null for a signed-in user',
  })
  apiKeyId!: string | null;
}

export class AuditCursorMeta {
  limit!: number;
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class AuditLogListResponse {
  data!: AuditLogResponse[];
  meta!: AuditCursorMeta;
}
