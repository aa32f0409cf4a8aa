import { Injectable } from '@nestjs/common';
import { type Actor, maskChanges } from '../common/access';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { CursorCodec, keysetPage } from '../common/cursor';
import { currentRequest } from '../common/request-context';
import { dateRangeIssues, invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import type { Params, Queryable } from '../database/sql';
import { type AuditKeyset, AuditRepository, type AuditRow } from './audit.repository';
import type {
  AuditAction,
  AuditEntityType,
  AuditLogListResponse,
  ListAuditLogsDto,
} from './dto/list-audit-logs.dto';

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
  private readonly cursors: CursorCodec;

  constructor(
    private readonly repo: AuditRepository,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'audit');
  }

  /**
   * Appends one entry through the caller's connection, so it commits or rolls back with the
   * change it describes. Request id and IP come from the request context.
   */
  record(db: Queryable, entry: AuditEntry): Promise<void> {
    return this.repo.insert(db, { ...withRequest(entry), entityId: entry.entityId });
  }

  /**
   * Records a refresh-token reuse once per token family: every later presentation of any of its
   * tokens is the same incident. The caller holds the family's lock, so two cannot both record.
   */
  async recordReuseOnce(db: Queryable, userId: string, familyId: string): Promise<void> {
    if (await this.repo.exists(db, 'auth.refresh_reuse', userId, 'familyId', familyId)) return;
    await this.record(db, {
      actorId: null,
      action: 'auth.refresh_reuse',
      entityType: 'user',
      entityId: userId,
      changes: { familyId },
    });
  }

  /**
   * `record` as a data-modifying CTE of the caller's own statement: one entry per `source` row,
   * about the row's `id`, with the row's `changes` column as its changes.
   */
  insertFrom(
    params: Params,
    source: string,
    entry: Omit<AuditEntry, 'entityId' | 'changes'>,
  ): string {
    return this.repo.insertFrom(params, source, withRequest(entry));
  }

  /** Newest first; what `reader` may not see of other people's data is masked (docs/api.md section 11). */
  async list(reader: Actor, q: ListAuditLogsDto): Promise<AuditLogListResponse> {
    const range = dateRangeIssues(q.from, q.to);
    if (range.length > 0) throw validationProblem(range);
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    let after: AuditKeyset | undefined;
    if (q.cursor) {
      after = this.cursors.decode<AuditKeyset>(q.cursor);
      if (!after || typeof after.at !== 'string' || typeof after.id !== 'string')
        throw invalidCursor();
    }
    const page = keysetPage(await this.repo.list(q, limit, after), limit, this.cursors, (last) => ({
      at: last.atKey,
      id: last.id,
    }));
    return {
      data: page.rows.map(({ atKey: _atKey, ...row }) => ({
        ...row,
        changes: maskChanges(reader, row, row.changes) ?? {},
      })),
      meta: { limit, nextCursor: page.nextCursor },
    };
  }
}

function withRequest(entry: Omit<AuditEntry, 'entityId'>): AuditRow {
  const ctx = currentRequest();
  return {
    actorId: entry.actorId,
    action: entry.action,
    entityType: entry.entityType,
    changes: entry.changes ?? {},
    requestId: ctx?.requestId ?? null,
    ip: ctx?.ip ?? null,
    apiKeyId: ctx?.apiKeyId ?? null,
  };
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
