import { Injectable } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ORG_SCOPE, rollupSource } from '../database/rollups';
import { Params, type Queryable, query } from '../database/sql';
import { CountCache, type CountedAt } from './count-cache';
import {
  afterKeysetSql,
  filterSql,
  type Keyset,
  orderBySql,
  parseSort,
  type ResolvedFilters,
  type SortSpec,
  sortValueSql,
} from './transaction-filters.sql';
import type { Sort } from './dto/list-transactions.dto';
import type { TransactionResponse } from './dto/transaction.response';
import type { TransactionType } from './entities/transaction.entity';

/** All SQL of the transactions feature. Request values only ever travel as parameters. */

export type TransactionRow = TransactionResponse & { sortKey: string };

const COLUMNS = `t.id, t.owner_id AS "ownerId", t.type, t.amount::text AS amount, t.category,
  t.date::text AS date, t.notes, t.created_at AS "createdAt", t.updated_at AS "updatedAt", t.deleted_at AS "deletedAt"`;

const EDITABLE = {
  type: 'type',
  amount: 'amount',
  category: 'category',
  date: 'date',
  notes: 'notes',
} as const;
export type EditableFields = Partial<Record<keyof typeof EDITABLE, string | null>>;

export interface NewTransaction {
  ownerId: string;
  type: TransactionType;
  amount: string;
  category: string;
  date: string;
  notes: string | null;
}

/**
 * The write version of one owner's transactions, or of everyone's: the sum of the write counters
 * (see the search-and-versions migration), which every committed write raises.
 */
function versionOf(ownerId: string | undefined, params: Params): string {
  const owner = ownerId ? ` WHERE owner_id = ${params.p(ownerId)}` : '';
  return `(SELECT coalesce(sum(version), 0)::text FROM transaction_versions${owner})`;
}

@Injectable()
export class TransactionsRepository {
  private readonly exactCounts = new CountCache();
  private readonly countsRunning = new Map<string, Promise<CountedAt>>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Inserts only when the owner is an active user; no row back means it is not. `alongside`
   * adds a data-modifying CTE over the new row (named by its second argument) to the same
   * statement, so the row and, for example, its audit entry commit together in one round trip.
   * It may return several such CTE bodies (the audit entry and the event).
   */
  async insert(
    db: Queryable,
    t: NewTransaction,
    alongside?: (params: Params, source: string) => string | string[],
  ): Promise<TransactionResponse | undefined> {
    const params = new Params();
    const owner = params.p(t.ownerId);
    const values = [
      owner,
      ...[t.type, t.amount, t.category, t.date, t.notes].map((v) => params.p(v)),
    ];
    const also = [alongside?.(params, 'inserted') ?? []]
      .flat()
      .map((sql, i) => `, alongside${i} AS (${sql})`)
      .join('');
    const [row] = await query<TransactionResponse>(
      db,
      `WITH inserted AS (
         INSERT INTO transactions AS t (owner_id, type, amount, category, date, notes)
         SELECT ${values.join(', ')} WHERE EXISTS (SELECT 1 FROM users WHERE id = ${owner} AND is_active)
         RETURNING ${COLUMNS}
       )${also}
       SELECT * FROM inserted`,
      params.values,
    );
    return row;
  }

  /** The live row, locked until the surrounding transaction ends (read-modify-write). */
  async lockLive(id: string, m: EntityManager): Promise<TransactionResponse | undefined> {
    const [row] = await query<TransactionResponse>(
      m,
      `SELECT ${COLUMNS} FROM transactions t WHERE t.id = $1 AND t.deleted_at IS NULL FOR UPDATE`,
      [id],
    );
    return row;
  }

  async findLive(id: string, ownerId?: string): Promise<TransactionResponse | undefined> {
    const params = new Params();
    const owner = ownerId ? ` AND t.owner_id = ${params.p(ownerId)}` : '';
    const [row] = await query<TransactionResponse>(
      this.db,
      `SELECT ${COLUMNS} FROM transactions t WHERE t.id = ${params.p(id)} AND t.deleted_at IS NULL${owner}`,
      params.values,
    );
    return row;
  }

  async update(
    id: string,
    fields: EditableFields,
    m: EntityManager,
  ): Promise<TransactionResponse | undefined> {
    const params = new Params();
    const sets = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${EDITABLE[key as keyof typeof EDITABLE]} = ${params.p(value)}`);
    const [row] = await query<TransactionResponse>(
      m,
      `UPDATE transactions t SET ${[...sets, 'updated_at = now()'].join(', ')}
       WHERE t.id = ${params.p(id)} AND t.deleted_at IS NULL RETURNING ${COLUMNS}`,
      params.values,
    );
    return row;
  }

  async softDelete(id: string, m: EntityManager): Promise<TransactionResponse | undefined> {
    const [row] = await query<TransactionResponse>(
      m,
      `UPDATE transactions t SET deleted_at = now(), updated_at = now()
       WHERE t.id = $1 AND t.deleted_at IS NULL RETURNING ${COLUMNS}`,
      [id],
    );
    return row;
  }

  async restore(id: string, m: EntityManager): Promise<TransactionResponse | undefined> {
    const [row] = await query<TransactionResponse>(
      m,
      `UPDATE transactions t SET deleted_at = NULL, updated_at = now()
       WHERE t.id = $1 AND t.deleted_at IS NOT NULL RETURNING ${COLUMNS}`,
      [id],
    );
    return row;
  }

  async exists(id: string, m: EntityManager): Promise<boolean> {
    return (await query(m, 'SELECT 1 FROM transactions WHERE id = $1', [id])).length > 0;
  }

  async page(
    filters: ResolvedFilters,
    sort: SortSpec,
    limit: number,
    offset: number,
  ): Promise<{ rows: TransactionRow[]; total: number }> {
    const params = new Params();
    const where = filterSql(filters, params);
    const [rows, total] = await Promise.all([
      query<TransactionRow>(
        this.db,
        // Deferred join: the offset walks only the index (ids), then 20 full rows are fetched, so
        // a deep page does not read and sort every skipped row.
        `SELECT ${COLUMNS} FROM transactions t
         JOIN (SELECT t.id FROM transactions t WHERE ${where} ${orderBySql(sort)}
               LIMIT ${params.p(limit)} OFFSET ${params.p(offset)}) page ON page.id = t.id
         ${orderBySql(sort)}`,
        params.values,
      ),
      this.count(filters),
    ]);
    return { rows, total };
  }

  /**
   * The page-mode total. Filters the rollups can answer (owner, type, category, date range over
   * live rows) are counted there, at a cost that does not grow with the number of rows; amount
   * bounds, search and deleted rows need an exact count over the table, which is cached.
   */
  private async count(f: ResolvedFilters): Promise<number> {
    if (f.deleted === 'exclude' && !f.q && !f.minAmount && !f.maxAmount) {
      const params = new Params();
      const source = rollupSource(params, `= ${params.p(f.ownerId ?? ORG_SCOPE)}`, {
        from: f.from,
        to: f.to,
      });
      const where = ['true'];
      if (f.type) where.push(`s.type = ${params.p(f.type)}`);
      if (f.category) where.push(`lower(s.category) = lower(${params.p(f.category)})`);
      const [row] = await query<{ total: number }>(
        this.db,
        `SELECT coalesce(sum(s.count), 0)::int AS total FROM (${source}) s WHERE ${where.join(' AND ')}`,
        params.values,
      );
      return row.total;
    }
    return this.exactCount(f);
  }

  /**
   * An exact count, remembered with the owners' write version it was taken at (see the
   * search-and-versions migration) and reused while that version is unchanged: paging through a
   * search costs one count, not one per page. A count already running for the same filter is
   * shared when it describes a snapshot no older than this request's start (its version is at
   * least the one read here), so a burst of identical requests after a write counts once.
   */
  private async exactCount(f: ResolvedFilters): Promise<number> {
    const key = JSON.stringify([
      f.deleted,
      f.ownerId,
      f.type,
      f.category,
      f.from,
      f.to,
      f.minAmount,
      f.maxAmount,
      f.q,
    ]);
    const versionParams = new Params();
    const [{ version }] = await query<{ version: string }>(
      this.db,
      `SELECT ${versionOf(f.ownerId, versionParams)} AS version`,
      versionParams.values,
    );
    const cached = this.exactCounts.current(key, version);
    if (cached !== undefined) return cached;
    const running = this.countsRunning.get(key);
    if (running) {
      const shared = await running;
      if (BigInt(shared.version) >= BigInt(version)) return shared.total;
    }
    const params = new Params();
    const counting = query<CountedAt>(
      this.db,
      `SELECT ${versionOf(f.ownerId, params)} AS version,
              (SELECT count(*)::int FROM transactions t WHERE ${filterSql(f, params)}) AS total`,
      params.values,
    ).then(([row]) => row);
    this.countsRunning.set(key, counting);
    try {
      return this.exactCounts.remember(key, await counting);
    } finally {
      if (this.countsRunning.get(key) === counting) this.countsRunning.delete(key);
    }
  }

  /** Keyset page: rows strictly after `after` in the sort order, plus one to tell if more exist. */
  async cursorPage(
    filters: ResolvedFilters,
    sort: SortSpec,
    limit: number,
    after?: Keyset,
  ): Promise<TransactionRow[]> {
    const params = new Params();
    let where = filterSql(filters, params);
    if (after) where += ` AND ${afterKeysetSql(sort, after, params)}`;
    return query<TransactionRow>(
      this.db,
      `SELECT ${COLUMNS}, ${sortValueSql(sort)} AS "sortKey" FROM transactions t WHERE ${where} ${orderBySql(sort)} LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }

  async isActiveUser(id: string): Promise<boolean> {
    return (
      (await query(this.db, 'SELECT 1 FROM users WHERE id = $1 AND is_active', [id])).length > 0
    );
  }

  /**
   * The export: same filters and order as the list, every matching row, streamed from a
   * server-side cursor on `client` (which must be inside a transaction).
   */
  exportRows(client: PoolClient, filters: ResolvedFilters, sort: Sort): Readable {
    const params = new Params();
    const where = filterSql(filters, params);
    const sql = `SELECT t.id, t.date::text AS date, t.type, t.amount::text AS amount, t.category, t.notes,
        t.owner_id AS "ownerId", t.created_at AS "createdAt"
      FROM transactions t WHERE ${where} ${orderBySql(parseSort(sort))}`;
    return client.query(new QueryStream(sql, params.values, { batchSize: 2000 }));
  }

  /**
   * Bulk insert for imports: streams a file of CSV rows (owner_id, type, amount, category, date,
   * notes) into one COPY on `client`; the rollup and version triggers run once for the whole COPY.
   */
  async copyFromFile(client: PoolClient, path: string): Promise<void> {
    await pipeline(
      createReadStream(path),
      client.query(
        copyFrom(
          'COPY transactions (owner_id, type, amount, category, date, notes) FROM STDIN WITH (FORMAT csv)',
        ),
      ),
    );
  }

  /** Latest live rows by date, then createdAt (dashboard `recent`); ownerId undefined = everyone. */
  async recent(
    ownerId: string | undefined,
    from: string | undefined,
    to: string | undefined,
    limit: number,
  ): Promise<TransactionResponse[]> {
    const params = new Params();
    const clauses = ['t.deleted_at IS NULL'];
    if (ownerId) clauses.push(`t.owner_id = ${params.p(ownerId)}`);
    if (from) clauses.push(`t.date >= ${params.p(from)}`);
    if (to) clauses.push(`t.date <= ${params.p(to)}`);
    const rows = await query<TransactionResponse>(
      this.db,
      `SELECT ${COLUMNS} FROM transactions t WHERE ${clauses.join(' AND ')}
       ORDER BY t.date DESC, t.created_at DESC, t.id DESC LIMIT ${params.p(limit)}`,
      params.values,
    );
    return rows.map(({ deletedAt: _deletedAt, ...row }) => row);
  }
}
