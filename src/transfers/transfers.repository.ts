import { Injectable } from '@nestjs/common';
import { ReadRouting } from '../database/replicas/read-routing';
import { Params, type Queryable, query } from '../database/sql';
import type { TransferResponse } from './dto/transfer.response';
import type { JudgedTransfer } from './transfer-rules';

/** All SQL of the transfers feature. Request values only ever travel as parameters. */

/** A transfer as judged by transfer-rules.ts, ready to insert. */
export type NewTransfer = JudgedTransfer;

export interface TransferFilter {
  /** Only this owner's transfers; undefined: everyone's. */
  ownerId?: string;
  accountId?: string;
  from?: string;
  to?: string;
}

/** Where a page of `GET /transfers` stopped (newest first: date, then id). */
export interface TransferKeyset {
  d: string;
  id: string;
}

/** A transfer row in its API shape (`r`). */
export const TRANSFER_COLUMNS = `r.id, r.owner_id AS "ownerId", r.from_account_id AS "fromAccountId",
  r.to_account_id AS "toAccountId", r.amount::text AS amount, r.currency,
  r.to_amount::text AS "toAmount", r.to_currency AS "toCurrency", r.rate::text AS rate,
  r.date::text AS date, r.notes, r.created_at AS "createdAt"`;

@Injectable()
export class TransfersRepository {
  constructor(private readonly reads: ReadRouting) {}

  /**
   * Inserts only when the owner is an active user; no row back means it is not. The foreign keys
   * (account, owner, currency) refuse a transfer whose accounts changed owner or currency, or
   * were deleted, since they were read.
   */
  async insert(db: Queryable, t: NewTransfer): Promise<TransferResponse | undefined> {
    const params = new Params();
    const owner = params.p(t.ownerId);
    const values = [
      t.fromAccountId,
      t.toAccountId,
      t.amount,
      t.currency,
      t.toAmount,
      t.toCurrency,
      t.rate,
      t.date,
      t.notes,
    ].map((v) => params.p(v));
    const [row] = await query<TransferResponse>(
      db,
      `INSERT INTO transfers AS r (owner_id, from_account_id, to_account_id, amount, currency,
         to_amount, to_currency, rate, date, notes)
       SELECT ${owner}, ${values.join(', ')}
       WHERE EXISTS (SELECT 1 FROM users WHERE id = ${owner} AND is_active)
       RETURNING ${TRANSFER_COLUMNS}`,
      params.values,
    );
    return row;
  }

  /** A live transfer; `ownerId` confines it to that owner's. */
  async findLive(id: string, ownerId?: string): Promise<TransferResponse | undefined> {
    const params = new Params();
    const owner = ownerId ? ` AND r.owner_id = ${params.p(ownerId)}` : '';
    const [row] = await query<TransferResponse>(
      await this.reads.reader(),
      `SELECT ${TRANSFER_COLUMNS} FROM transfers r
       WHERE r.id = ${params.p(id)} AND r.deleted_at IS NULL${owner}`,
      params.values,
    );
    return row;
  }

  /**
   * Live transfers, newest first (transfers_owner_date_idx / transfers_date_idx), `limit + 1`
   * rows; `accountId` matches either leg.
   */
  async list(
    f: TransferFilter,
    limit: number,
    after?: TransferKeyset,
  ): Promise<TransferResponse[]> {
    const params = new Params();
    const where = ['r.deleted_at IS NULL'];
    if (f.ownerId) where.push(`r.owner_id = ${params.p(f.ownerId)}`);
    if (f.accountId) {
      const account = params.p(f.accountId);
      where.push(`(r.from_account_id = ${account} OR r.to_account_id = ${account})`);
    }
    if (f.from) where.push(`r.date >= ${params.p(f.from)}::date`);
    if (f.to) where.push(`r.date <= ${params.p(f.to)}::date`);
    if (after)
      where.push(`(r.date, r.id) < (${params.p(after.d)}::date, ${params.p(after.id)}::uuid)`);
    return query(
      await this.reads.reader(),
      `SELECT ${TRANSFER_COLUMNS} FROM transfers r WHERE ${where.join(' AND ')}
       ORDER BY r.date DESC, r.id DESC LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }

  async softDelete(
    db: Queryable,
    id: string,
  ): Promise<(TransferResponse & { deletedAt: Date }) | undefined> {
    const [row] = await query<TransferResponse & { deletedAt: Date }>(
      db,
      `UPDATE transfers r SET deleted_at = now(), updated_at = now()
       WHERE r.id = $1 AND r.deleted_at IS NULL RETURNING ${TRANSFER_COLUMNS}, r.deleted_at AS "deletedAt"`,
      [id],
    );
    return row;
  }

  async restore(db: Queryable, id: string): Promise<TransferResponse | undefined> {
    const [row] = await query<TransferResponse>(
      db,
      `UPDATE transfers r SET deleted_at = NULL, updated_at = now()
       WHERE r.id = $1 AND r.deleted_at IS NOT NULL RETURNING ${TRANSFER_COLUMNS}`,
      [id],
    );
    return row;
  }

  async exists(db: Queryable, id: string): Promise<boolean> {
    return (await query(db, 'SELECT 1 FROM transfers WHERE id = $1', [id])).length > 0;
  }
}
