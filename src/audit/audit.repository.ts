import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { addDays } from '../common/dates';
import { Params, query } from '../database/sql';
import type { AuditLogResponse, ListAuditLogsDto } from './dto/list-audit-logs.dto';

export interface AuditKeyset {
  at: string;
  id: string;
}

@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Newest first; `after` continues strictly past the last row of the previous page. */
  list(
    f: ListAuditLogsDto,
    limit: number,
    after?: AuditKeyset,
  ): Promise<(AuditLogResponse & { atKey: string })[]> {
    const params = new Params();
    const where: string[] = [];
    if (f.actorId) where.push(`actor_id = ${params.p(f.actorId)}`);
    if (f.entityType) where.push(`entity_type = ${params.p(f.entityType)}`);
    if (f.entityId) where.push(`entity_id = ${params.p(f.entityId)}`);
    if (f.action) where.push(`action = ${params.p(f.action)}`);
    if (f.from) where.push(`at >= ${params.p(f.from)}::date::timestamp AT TIME ZONE 'UTC'`);
    if (f.to) where.push(`at < ${params.p(addDays(f.to, 1))}::date::timestamp AT TIME ZONE 'UTC'`);
    if (after)
      where.push(`(at, id) < (${params.p(after.at)}::timestamptz, ${params.p(after.id)}::uuid)`);
    return query(
      this.db,
      `SELECT id, at, actor_id AS "actorId", action, entity_type AS "entityType", entity_id AS "entityId",
         changes, request_id AS "requestId", ip, at::text AS "atKey"
       FROM audit_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at DESC, id DESC LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }
}
