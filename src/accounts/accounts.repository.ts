import { Injectable } from '@nestjs/common';
import { ReadRouting } from '../database/replicas/read-routing';
import { Params, type Queryable, query } from '../database/sql';
import type { AccountType } from './entities/account.entity';

/** All SQL of the accounts feature. Request values only ever travel as parameters. */

/** What a write booked to an account needs to know of it. */
export interface BookingAccount {
  id: string;
  ownerId: string;
  currency: string;
  archived: boolean;
}

/** An account row in its API shape, without its balance. */
export interface AccountRow {
  id: string;
  ownerId: string;
  name: string;
  type: AccountType;
  currency: string;
  /** As stored: exactly the currency's minor units. */
  openingBalance: string;
  openingDate: string;
  archived: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** The sums behind a balance, as PostgreSQL prints them (the service formats them). */
export interface BalanceSums {
  income: string;
  expenses: string;
  transfersIn: string;
  transfersOut: string;
  balance: string;
}

export type AccountWithSums = AccountRow & BalanceSums;

export interface NewAccount {
  ownerId: string;
  name: string;
  type: AccountType;
  currency: string;
  openingBalance: string;
  openingDate: string;
}

const EDITABLE = {
  name: 'name',
  type: 'type',
  currency: 'currency',
  archived: 'archived',
} as const;
export type AccountChanges = Partial<{
  name: string;
  type: AccountType;
  currency: string;
  archived: boolean;
  openingBalance: string;
}>;

export interface AccountListFilter {
  /** Only this owner's accounts; undefined: everyone's. */
  ownerId?: string;
  includeArchived: boolean;
}

/** Where a page of `GET /accounts` stopped: created_at as PostgreSQL prints it (µs), and the id. */
export interface AccountKeyset {
  c: string;
  id: string;
}

const BOOKING_COLUMNS = `id, owner_id AS "ownerId", currency, archived`;

export const ACCOUNT_COLUMNS = `a.id, a.owner_id AS "ownerId", a.name, a.type, a.currency,
  a.opening_balance::text AS "openingBalance", a.opening_date::text AS "openingDate", a.archived,
  a.created_at AS "createdAt", a.updated_at AS "updatedAt"`;

/**
 * The balance of `a` on day `asOf`: live rows dated on or before it (rows dated before the
 * opening date count too: the opening balance is where the account starts, not a cut-off). Each
 * sum is one index range (transactions_account_date_idx, transfers_from/to_date_idx), and the
 * arithmetic is NUMERIC, so it is exact.
 */
export const balanceSql = (asOf: string) => `
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(t.amount) FILTER (WHERE t.type = 'income'), 0) AS income,
           coalesce(sum(t.amount) FILTER (WHERE t.type = 'expense'), 0) AS expenses
    FROM transactions t
    WHERE t.account_id = a.id AND t.deleted_at IS NULL AND t.date <= ${asOf}::date) tx
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(r.to_amount), 0) AS total FROM transfers r
    WHERE r.to_account_id = a.id AND r.deleted_at IS NULL AND r.date <= ${asOf}::date) tin
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(r.amount), 0) AS total FROM transfers r
    WHERE r.from_account_id = a.id AND r.deleted_at IS NULL AND r.date <= ${asOf}::date) tout`;

export const BALANCE_SUMS = `tx.income::text AS income, tx.expenses::text AS expenses,
  tin.total::text AS "transfersIn", tout.total::text AS "transfersOut",
  (a.opening_balance + tx.income - tx.expenses + tin.total - tout.total)::text AS balance`;

@Injectable()
export class AccountsRepository {
  constructor(private readonly reads: ReadRouting) {}

  /**
   * The account a transaction is about to reference. Should it be deleted, change currency or be
   * archived before the write commits, the (account, owner, currency) foreign key or the
   * archived-account trigger (money migration) refuses the write.
   */
  async findForBooking(db: Queryable, id: string): Promise<BookingAccount | undefined> {
    const [row] = await query<BookingAccount>(
      db,
      `SELECT ${BOOKING_COLUMNS} FROM accounts WHERE id = $1`,
      [id],
    );
    return row;
  }

  /**
   * The accounts a transfer is about to reference, share-locked in id order until the
   * transaction ends: an archive or currency change waits for the transfer (or the transfer for
   * it), so it is judged on what will still be true at commit. Shared locks never wait for each
   * other, so concurrent transfers out of one account do not queue.
   */
  async lockForBooking(db: Queryable, ids: string[]): Promise<Map<string, BookingAccount>> {
    const rows = await query<BookingAccount>(
      db,
      `SELECT ${BOOKING_COLUMNS} FROM accounts
       WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Every account of one owner, for an import that judges many rows at once. */
  async ownedBy(db: Queryable, ownerId: string): Promise<BookingAccount[]> {
    return query<BookingAccount>(
      db,
      `SELECT ${BOOKING_COLUMNS} FROM accounts WHERE owner_id = $1`,
      [ownerId],
    );
  }

  /** Inserts only when the owner is an active user; no row back means it is not. */
  async insert(db: Queryable, a: NewAccount): Promise<AccountRow | undefined> {
    const params = new Params();
    const owner = params.p(a.ownerId);
    const values = [a.name, a.type, a.currency, a.openingBalance, a.openingDate].map((v) =>
      params.p(v),
    );
    const [row] = await query<AccountRow>(
      db,
      `INSERT INTO accounts AS a (owner_id, name, type, currency, opening_balance, opening_date)
       SELECT ${owner}, ${values.join(', ')}
       WHERE EXISTS (SELECT 1 FROM users WHERE id = ${owner} AND is_active)
       RETURNING ${ACCOUNT_COLUMNS}`,
      params.values,
    );
    return row;
  }

  /**
   * One account with the sums of its balance on `asOf`; `ownerId` confines it to that owner.
   * `db` is the write's transaction when the body follows a change; a plain read asks the router.
   */
  async findWithSums(
    id: string,
    asOf: string,
    ownerId?: string,
    db?: Queryable,
  ): Promise<AccountWithSums | undefined> {
    const params = new Params();
    const day = params.p(asOf);
    const owner = ownerId ? ` AND a.owner_id = ${params.p(ownerId)}` : '';
    const [row] = await query<AccountWithSums>(
      db ?? (await this.reads.reader()),
      `SELECT ${ACCOUNT_COLUMNS}, ${BALANCE_SUMS} FROM accounts a ${balanceSql(day)}
       WHERE a.id = ${params.p(id)}${owner}`,
      params.values,
    );
    return row;
  }

  /** Oldest first (accounts_owner_created_idx / accounts_created_idx), `limit + 1` rows. */
  async list(
    f: AccountListFilter,
    asOf: string,
    limit: number,
    after?: AccountKeyset,
  ): Promise<(AccountWithSums & { createdKey: string })[]> {
    const params = new Params();
    const day = params.p(asOf);
    const where: string[] = [];
    if (f.ownerId) where.push(`a.owner_id = ${params.p(f.ownerId)}`);
    if (!f.includeArchived) where.push('NOT a.archived');
    if (after) {
      where.push(
        `(a.created_at, a.id) > (${params.p(after.c)}::timestamptz, ${params.p(after.id)}::uuid)`,
      );
    }
    // The page is chosen first, so the balances are summed for its rows only.
    return query(
      await this.reads.reader(),
      `SELECT ${ACCOUNT_COLUMNS}, ${BALANCE_SUMS}, a.created_at::text AS "createdKey"
       FROM (SELECT * FROM accounts a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
             ORDER BY a.created_at, a.id LIMIT ${params.p(limit + 1)}) a
       ${balanceSql(day)}
       ORDER BY a.created_at, a.id`,
      params.values,
    );
  }

  /**
   * The account, locked until the surrounding transaction ends. The lock also waits out any
   * write that is booking a row to it (its foreign key check holds a key-share lock), so what
   * `isReferenced` then sees stays true until the change commits.
   */
  async lock(db: Queryable, id: string, ownerId?: string): Promise<AccountRow | undefined> {
    const params = new Params();
    const owner = ownerId ? ` AND a.owner_id = ${params.p(ownerId)}` : '';
    const [row] = await query<AccountRow>(
      db,
      `SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ${params.p(id)}${owner} FOR UPDATE`,
      params.values,
    );
    return row;
  }

  /** Whether any transaction or transfer, live or deleted, references the account. */
  async isReferenced(db: Queryable, id: string): Promise<boolean> {
    const [row] = await query<{ referenced: boolean }>(
      db,
      `SELECT EXISTS (SELECT 1 FROM transactions WHERE account_id = $1)
           OR EXISTS (SELECT 1 FROM transfers WHERE from_account_id = $1)
           OR EXISTS (SELECT 1 FROM transfers WHERE to_account_id = $1) AS referenced`,
      [id],
    );
    return row.referenced;
  }

  async update(db: Queryable, id: string, changes: AccountChanges): Promise<AccountRow> {
    const params = new Params();
    const sets = Object.entries(changes)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) =>
        key === 'openingBalance'
          ? `opening_balance = ${params.p(value)}`
          : `${EDITABLE[key as keyof typeof EDITABLE]} = ${params.p(value)}`,
      );
    const [row] = await query<AccountRow>(
      db,
      `UPDATE accounts a SET ${[...sets, 'updated_at = now()'].join(', ')}
       WHERE a.id = ${params.p(id)} RETURNING ${ACCOUNT_COLUMNS}`,
      params.values,
    );
    return row;
  }

  async delete(db: Queryable, id: string): Promise<void> {
    await db.query(`DELETE FROM accounts WHERE id = $1`, [id]);
  }
}
