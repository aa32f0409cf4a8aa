import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ReadRouting } from '../database/replicas/read-routing';
import { inClientTransaction } from '../database/transaction';
import { Params, type Queryable, query } from '../database/sql';
import {
  afterKeysetSql,
  filterSql,
  type Keyset,
  orderBySql,
  parseSort,
  type ResolvedFilters,
  type SortSpec,
  sortValueSql,
  TransactionTotals,
} from './transaction-list.repository';
import type { Sort } from './dto/list-transactions.dto';
import type { TransactionResponse } from './dto/transaction.response';
import type { TransactionType } from './entities/transaction.entity';

/**
 * The SQL of the transaction rows: one row, pages, the export stream, the import's COPY. The
 * filters, sort orders and page totals are in transaction-list.repository.ts. Request values
 * only ever travel as parameters.
 */

export type TransactionRow = TransactionResponse & { sortKey: string };

/** A transaction row in its API shape (`t`), `deletedAt` included. */
export const TRANSACTION_COLUMNS = `t.id, t.owner_id AS "ownerId", t.account_id AS "accountId", t.type, t.amount::text AS amount,
  t.currency, t.category, t.date::text AS date, t.notes, t.created_at AS "createdAt", t.updated_at AS "updatedAt", t.deleted_at AS "deletedAt"`;

const EDITABLE = {
  type: 'type',
  amount: 'amount',
  currency: 'currency',
  accountId: 'account_id',
  category: 'category',
  date: 'date',
  notes: 'notes',
} as const;
export type EditableFields = Partial<Record<keyof typeof EDITABLE, string | null>>;

export interface NewTransaction {
  ownerId: string;
  accountId: string | null;
  type: TransactionType;
  /** At exactly the currency's minor units (formatMoney). */
  amount: string;
  currency: string;
  category: string;
  date: string;
  notes: string | null;
}

@Injectable()
export class TransactionsRepository {
  private readonly totals: TransactionTotals;

  /**
   * `db` is the primary; the read paths of the read-only routes (get one, list, export, the
   * dashboard's recent rows) ask `reads` instead, which picks a replica when one is safe to read.
   */
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly reads: ReadRouting,
  ) {
    this.totals = new TransactionTotals(db);
  }

  /**
   * Inserts the rows whose owner is an active user, in one statement; the answer lines up with
   * `rows` (undefined where the owner is not). `alongside` adds data-modifying CTEs over the new
   * rows (the relation it is given: the returned columns plus each row's `changes`), so the rows
   * and, for example, their audit entries and events commit together in one round trip.
   */
  async insert(
    db: Queryable,
    rows: readonly (NewTransaction & { changes: object })[],
    alongside?: (params: Params, source: string) => string[],
  ): Promise<(TransactionResponse | undefined)[]> {
    const params = new Params();
    const ids = rows.map(() => randomUUID());
    const column = <T>(pick: (r: (typeof rows)[number]) => T, type: string) =>
      `${params.p(rows.map(pick))}::${type}[]`;
    const also = (alongside?.(params, 'source') ?? [])
      .map((sql, i) => `, alongside${i} AS (${sql})`)
      .join('');
    const inserted = await query<TransactionResponse & { changes?: object }>(
      db,
      `WITH input AS (
         SELECT * FROM unnest(${params.p(ids)}::uuid[], ${column((r) => r.ownerId, 'uuid')},
           ${column((r) => r.accountId, 'uuid')}, ${column((r) => r.type, 'transaction_type')},
           ${column((r) => r.amount, 'numeric')}, ${column((r) => r.currency, 'text')},
           ${column((r) => r.category, 'text')}, ${column((r) => r.date, 'date')},
           ${column((r) => r.notes, 'text')}, ${column((r) => JSON.stringify(r.changes), 'jsonb')})
           WITH ORDINALITY AS i (id, owner_id, account_id, type, amount, currency, category, date, notes, changes, ord)
       ),
       inserted AS (
         INSERT INTO transactions AS t (id, owner_id, account_id, type, amount, currency, category, date, notes)
         SELECT id, owner_id, account_id, type, amount, currency, category, date, notes FROM input i
         WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = i.owner_id AND u.is_active)
         ORDER BY ord
         RETURNING ${TRANSACTION_COLUMNS}
       ),
       source AS (SELECT inserted.*, input.changes FROM inserted JOIN input USING (id))${also}
       SELECT inserted.* FROM inserted`,
      params.values,
    );
    const byId = new Map(inserted.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id));
  }

  /**
   * Locks the rows (live or deleted) in id order, whichever order they were named in, so two
   * transactions locking overlapping sets wait for each other instead of deadlocking.
   */
  async lockInIdOrder(ids: readonly string[], m: EntityManager): Promise<TransactionResponse[]> {
    return query<TransactionResponse>(
      m,
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = ANY($1::uuid[]) ORDER BY t.id FOR UPDATE`,
      [[...new Set(ids)]],
    );
  }

  /** The live row, locked until the surrounding transaction ends (read-modify-write). */
  async lockLive(id: string, m: EntityManager): Promise<TransactionResponse | undefined> {
    const [row] = await query<TransactionResponse>(
      m,
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = $1 AND t.deleted_at IS NULL FOR UPDATE`,
      [id],
    );
    return row;
  }

  async findLive(id: string, ownerId?: string): Promise<TransactionResponse | undefined> {
    const params = new Params();
    const owner = ownerId ? ` AND t.owner_id = ${params.p(ownerId)}` : '';
    const [row] = await query<TransactionResponse>(
      // A primary-key lookup: the same plan for every id, so it may be prepared.
      await this.reads.reader({ prepare: true }),
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = ${params.p(id)} AND t.deleted_at IS NULL${owner}`,
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
       WHERE t.id = ${params.p(id)} AND t.deleted_at IS NULL RETURNING ${TRANSACTION_COLUMNS}`,
      params.values,
    );
    return row;
  }

  async softDelete(id: string, m: EntityManager): Promise<TransactionResponse | undefined> {
    const [row] = await query<TransactionResponse>(
      m,
      `UPDATE transactions t SET deleted_at = now(), updated_at = now()
       WHERE t.id = $1 AND t.deleted_at IS NULL RETURNING ${TRANSACTION_COLUMNS}`,
      [id],
    );
    return row;
  }

  async restore(id: string, m: EntityManager): Promise<TransactionResponse | undefined> {
    const [row] = await query<TransactionResponse>(
      m,
      `UPDATE transactions t SET deleted_at = NULL, updated_at = now()
       WHERE t.id = $1 AND t.deleted_at IS NOT NULL RETURNING ${TRANSACTION_COLUMNS}`,
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
    const db = await this.reads.reader();
    const [rows, total] = await Promise.all([
      query<TransactionRow>(
        db,
        // Deferred join: the offset walks only the index (ids), then 20 full rows are fetched, so
        // a deep page does not read and sort every skipped row.
        `SELECT ${TRANSACTION_COLUMNS} FROM transactions t
         JOIN (SELECT t.id FROM transactions t WHERE ${where} ${orderBySql(sort)}
               LIMIT ${params.p(limit)} OFFSET ${params.p(offset)}) page ON page.id = t.id
         ${orderBySql(sort)}`,
        params.values,
      ),
      this.totals.count(filters, db),
    ]);
    return { rows, total };
  }

  /** See PRUNE_CHANGES_SQL. */
  pruneChanges(intervalSeconds: number): Promise<void> {
    return this.totals.prune(intervalSeconds);
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
      await this.reads.reader(),
      `SELECT ${TRANSACTION_COLUMNS}, ${sortValueSql(sort)} AS "sortKey" FROM transactions t WHERE ${where} ${orderBySql(sort)} LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }

  async isActiveUser(id: string): Promise<boolean> {
    return (
      (await query(this.db, 'SELECT 1 FROM users WHERE id = $1 AND is_active', [id])).length > 0
    );
  }

  /**
   * Share-locks an import's owner if still active, inside the COPY's transaction: an erasure or a
   * deactivation (which update the row) then waits for the import to commit, and an import that
   * comes second finds the owner inactive and writes nothing (docs/api.md section 17). The check
   * before the upload is not enough: the user may be erased while the file arrives.
   */
  async lockActiveOwner(db: Queryable, ownerId: string): Promise<boolean> {
    const rows = await query(db, 'SELECT 1 FROM users WHERE id = $1 AND is_active FOR SHARE', [
      ownerId,
    ]);
    return rows.length > 0;
  }

  /**
   * The export: same filters and order as the list, every matching row, streamed from a
   * server-side cursor on `client` (which must be inside a transaction).
   */
  exportRows(client: PoolClient, filters: ResolvedFilters, sort: Sort): Readable {
    const params = new Params();
    const where = filterSql(filters, params);
    const sql = `SELECT t.id, t.date::text AS date, t.type, t.amount::text AS amount, t.currency, t.category,
        t.notes, t.owner_id AS "ownerId", t.account_id AS "accountId", t.created_at AS "createdAt"
      FROM transactions t WHERE ${where} ${orderBySql(parseSort(sort))}`;
    return client.query(new QueryStream(sql, params.values, { batchSize: 2000 }));
  }

  /**
   * Bulk insert for imports: a COPY on `client` that reads CSV rows (id, owner_id, account_id,
   * type, amount, currency, category, date, notes; ids ascending, see OrderedIds) from the returned stream; the rollup,
   * version and change-log triggers run once for the whole COPY.
   */
  copyIn(client: PoolClient): Writable {
    return client.query(
      copyFrom(
        'COPY transactions (id, owner_id, account_id, type, amount, currency, category, date, notes) FROM STDIN WITH (FORMAT csv)',
      ),
    );
  }

  /** The planner's row count of `transactions` as of its last ANALYZE or VACUUM; -1: never counted. */
  async plannerRowEstimate(): Promise<number> {
    const [row] = await query<{ rows: number }>(
      this.db.manager,
      `SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'transactions'::regclass`,
    );
    return row.rows;
  }

  /**
   * Fresh planner statistics for `transactions` and the rollups its triggers feed. On its own
   * connection and without a statement timeout: on a large table the sample takes a while.
   */
  async analyze(): Promise<void> {
    await inClientTransaction(this.db, 'BEGIN', (client) =>
      client.query('ANALYZE transactions, rollup_daily, rollup_monthly, rollup_totals'),
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
      await this.reads.reader(),
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions t WHERE ${clauses.join(' AND ')}
       ORDER BY t.date DESC, t.created_at DESC, t.id DESC LIMIT ${params.p(limit)}`,
      params.values,
    );
    return rows.map(({ deletedAt: _deletedAt, ...row }) => row);
  }
}
