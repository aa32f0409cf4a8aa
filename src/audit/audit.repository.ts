import { Injectable } from '@nestjs/common';
import { addDays } from '../common/dates';
import { ReadRouting } from '../database/replicas/read-routing';
import { Params, type Queryable, query } from '../database/sql';
import type { AuditLogResponse, ListAuditLogsDto } from './dto/list-audit-logs.dto';

export interface AuditKeyset {
  at: string;
  id: string;
}

/** An entry as written: who, what, and the request it came from. */
export interface AuditRow {
  actorId: string | null;
  action: string;
  entityType: string;
  changes: Record<string, unknown>;
  requestId: string | null;
  ip: string | null;
  apiKeyId: string | null;
}

/** An audit entry in its API shape (`GET /audit-logs`), before masking. */
export const AUDIT_COLUMNS = `id, at, actor_id AS "actorId", action, entity_type AS "entityType",
  entity_id AS "entityId", changes, request_id AS "requestId", ip, api_key_id AS "apiKeyId"`;

/** Every query on `audit_logs` (append-only: a trigger refuses UPDATE, DELETE and TRUNCATE). */
@Injectable()
export class AuditRepository {
  constructor(private readonly reads: ReadRouting) {}

  /** Appends one entry through `db`, the connection of the change it describes. */
  async insert(db: Queryable, entry: AuditRow & { entityId: string | null }): Promise<void> {
    const params = new Params();
    const changes = `${params.p(JSON.stringify(entry.changes))}::jsonb`;
    await db.query(insertSql(params, entry, params.p(entry.entityId), changes), params.values);
  }

  /**
   * The same INSERT as a data-modifying CTE body for the caller's own statement: one entry per
   * row of `source`, whose `id` is the entity id, so a change and its entries are one statement.
   */
  insertFrom(params: Params, source: string, entry: Omit<AuditRow, 'changes'>): string {
    return `${insertSql(params, entry, `${source}.id`, `${source}.changes`)} FROM ${source}`;
  }

  /** Whether an entry of `action` about `entityId` has `changes[key] = value`. */
  async exists(
    db: Queryable,
    action: string,
    entityId: string,
    key: string,
    value: string,
  ): Promise<boolean> {
    const rows = await query(
      db,
      `SELECT 1 FROM audit_logs
       WHERE entity_type = 'user' AND entity_id = $1 AND action = $2 AND changes ->> $3 = $4 LIMIT 1`,
      [entityId, action, key, value],
    );
    return rows.length > 0;
  }

  /** Newest first; `after` continues strictly past the last row of the previous page. */
  async list(
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
      await this.reads.reader(),
      `SELECT ${AUDIT_COLUMNS}, at::text AS "atKey"
       FROM audit_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at DESC, id DESC LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }
}

function insertSql(
  params: Params,
  entry: Omit<AuditRow, 'changes'>,
  entityId: string,
  changes: string,
): string {
  return `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, changes, request_id, ip, api_key_id)
    SELECT ${params.p(entry.actorId)}::uuid, ${params.p(entry.action)}, ${params.p(entry.entityType)},
      ${entityId}::uuid, ${changes},
      ${params.p(entry.requestId)}, ${params.p(entry.ip)}, ${params.p(entry.apiKeyId)}::uuid`;
}
