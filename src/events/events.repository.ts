import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Params, type Queryable, query } from '../database/sql';
import type { EventType, StoredEvent } from './event-types';

/** Where the feed (or the dispatcher) stopped: the last event's transaction id and sequence. */
export interface EventKeyset {
  tx: string;
  seq: string;
}

export interface NewEvent {
  type: EventType;
  actorId: string | null;
  /** The owner of the transaction(s) concerned; null for user events (organisation readers only). */
  ownerId: string | null;
  data: object;
}

export interface EventFilter {
  /** Only these types; undefined: all. */
  types?: readonly string[];
  /** Only events about this owner's transactions; undefined: everyone's. */
  ownerId?: string;
}

const COLUMNS = `e.id, e.type, e.occurred_at AS "occurredAt", e.actor_id AS "actorId", e.data,
  e.tx::text AS tx, e.seq::text AS seq`;

/**
 * JSON of a transaction row in its API shape (`TransactionResponse` without `deletedAt`), for the
 * one write that makes its event inside its own INSERT statement. Timestamps as JSON.stringify
 * writes a Date: milliseconds, truncated, as node-postgres reads them.
 */
const iso = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const transactionJson = (s: string) => `jsonb_build_object(
  'id', ${s}.id, 'ownerId', ${s}."ownerId", 'accountId', ${s}."accountId", 'type', ${s}.type,
  'amount', ${s}.amount, 'currency', ${s}.currency, 'category', ${s}.category, 'date', ${s}.date,
  'notes', ${s}.notes,
  'createdAt', ${iso(`${s}."createdAt"`)}, 'updatedAt', ${iso(`${s}."updatedAt"`)})`;

/** Every query on `events`. */
@Injectable()
export class EventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Appends through `db`, the connection (and transaction) of the change it describes. */
  async insert(db: Queryable, e: NewEvent): Promise<void> {
    await db.query(
      `INSERT INTO events (type, actor_id, owner_id, data) VALUES ($1, $2, $3, $4::jsonb)`,
      [e.type, e.actorId, e.ownerId, JSON.stringify(e.data)],
    );
  }

  /**
   * The same INSERT as a data-modifying CTE body of the caller's statement, one event per row of
   * `source` (transaction rows named as in the API), so the change and its event are one statement.
   */
  /**
   * A purge's events, one per row of `source` (`id`, `"ownerId"`): `{ id, ownerId }` only, as the
   * row itself is gone; the owner keeps the event in its owner's feed.
   */
  insertPurgedFrom(
    params: Params,
    source: string,
    type: EventType,
    actorId: string | null,
  ): string {
    return `INSERT INTO events (type, actor_id, owner_id, data)
      SELECT ${params.p(type)}, ${params.p(actorId)}::uuid, ${source}."ownerId",
        jsonb_build_object('id', ${source}.id, 'ownerId', ${source}."ownerId")
      FROM ${source}`;
  }

  insertFromTransactions(
    params: Params,
    source: string,
    e: { type: EventType; actorId: string },
  ): string {
    return `INSERT INTO events (type, actor_id, owner_id, data)
      SELECT ${params.p(e.type)}, ${params.p(e.actorId)}::uuid, ${source}."ownerId", ${transactionJson(source)}
      FROM ${source}`;
  }

  /**
   * The first transaction id that may still commit events in this database: the oldest
   * transaction of this database still running, or the next id to be assigned. Every event with
   * a smaller `tx` is final: committed (and then visible to any later statement) or rolled back.
   * Running transactions of other databases on the same server are not counted, so another
   * application's long write cannot hold the feed back; this database's own long writes (a large
   * import) do, until they end. Read by a statement of its own, before the snapshot of the read
   * that uses it (see `list`).
   */
  async horizon(db: Queryable = this.db): Promise<string> {
    const [row] = await query<{ horizon: string }>(
      db,
      `SELECT coalesce(
         (SELECT min(CASE WHEN d > 2147483648 THEN n ELSE n - d END)
          FROM (SELECT (n % 4294967296 - l.transactionid::text::bigint + 4294967296) % 4294967296 AS d
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
                  AND a.datname = current_database()) running),
         n)::text AS horizon
       FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS n) next`,
    );
    return row.horizon;
  }

  /**
   * Oldest first, strictly after `after`, only events of transactions below the horizon (read
   * first, by its own statement): what is handed out is final, nothing can later appear behind
   * a cursor already given out (see the events migration).
   */
  async list(
    f: EventFilter,
    limit: number,
    after?: EventKeyset,
    db: Queryable = this.db,
  ): Promise<(StoredEvent & EventKeyset)[]> {
    const horizon = await this.horizon(db);
    const params = new Params();
    const where = [`e.tx < ${params.p(horizon)}::xid8`];
    if (f.ownerId) where.push(`e.owner_id = ${params.p(f.ownerId)}`);
    if (f.types) where.push(`e.type = ANY(${params.p(f.types)}::text[])`);
    if (after)
      where.push(`(e.tx, e.seq) > (${params.p(after.tx)}::xid8, ${params.p(after.seq)}::bigint)`);
    return query(
      db,
      `SELECT ${COLUMNS} FROM events e WHERE ${where.join(' AND ')}
       ORDER BY e.tx, e.seq LIMIT ${params.p(limit)}`,
      params.values,
    );
  }

  /** Deletes events older than `seconds`, at most `batch` at a time; returns how many went. */
  async purgeOlderThan(seconds: number, batch = 10_000): Promise<number> {
    const rows = await query(
      this.db,
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE occurred_at < now() - make_interval(secs => $1)
         ORDER BY occurred_at LIMIT $2)
       RETURNING 1`,
      [seconds, batch],
    );
    return rows.length;
  }
}
