import { Injectable } from '@nestjs/common';
import { currentRequest } from '../common/request-context';
import { Params, type Queryable } from '../database/sql';

export const AUDIT_ACTIONS = [
  'user.create',
  'user.update',
  'transaction.create',
  'transaction.update',
  'transaction.delete',
  'transaction.restore',
  'transaction.import',
  'auth.login_failed',
  'auth.refresh_reuse',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_ENTITY_TYPES = ['user', 'transaction'] as const;
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number];

export type Changes = Record<string, unknown>;

export interface AuditEntry {
  actorId: string | null;
  action: AuditAction;
  entityType: AuditEntityType;
  entityId: string | null;
  changes?: Changes;
}

@Injectable()
export class AuditService {
  /**
   * Appends one entry through the caller's connection, so it commits or rolls back with the
   * change it describes. Request id and IP come from the request context.
   */
  async record(db: Queryable, entry: AuditEntry): Promise<void> {
    const params = new Params();
    await db.query(insertSql(params, entry, params.p(entry.entityId)), params.values);
  }

  /**
   * The same INSERT as a data-modifying CTE of the caller's own statement: one entry per row of
   * `source`, whose `id` is the entity id. The change and its entry then commit in one statement.
   */
  insertFrom(params: Params, source: string, entry: Omit<AuditEntry, 'entityId'>): string {
    return `${insertSql(params, { ...entry, entityId: null }, `${source}.id`)} FROM ${source}`;
  }
}

function insertSql(params: Params, entry: AuditEntry, entityId: string): string {
  const ctx = currentRequest();
  return `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, changes, request_id, ip)
    SELECT ${params.p(entry.actorId)}::uuid, ${params.p(entry.action)}, ${params.p(entry.entityType)},
      ${entityId}::uuid, ${params.p(JSON.stringify(entry.changes ?? {}))}::jsonb,
      ${params.p(ctx?.requestId ?? null)}, ${params.p(ctx?.ip ?? null)}`;
}

/** `{ field: { before, after } }` for the fields whose values differ. */
export function diff<T extends object>(
  before: Partial<T> | null,
  after: Partial<T> | null,
  fields: readonly (keyof T)[],
): Changes {
  const changes: Changes = {};
  for (const field of fields) {
    const b = before?.[field] ?? null;
    const a = after?.[field] ?? null;
    if (JSON.stringify(b) !== JSON.stringify(a)) changes[String(field)] = { before: b, after: a };
  }
  return changes;
}
