import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { ACCOUNT_COLUMNS, BALANCE_SUMS, balanceSql } from '../accounts/accounts.repository';
import { API_KEY_COLUMNS } from '../api-keys/api-keys.repository';
import { AUDIT_COLUMNS } from '../audit/audit.repository';
import { BUDGET_COLUMNS } from '../budgets/budgets.repository';
import { type Queryable, query } from '../database/sql';
import { TRANSACTION_COLUMNS } from '../transactions/transactions.repository';
import { TRANSFER_COLUMNS } from '../transfers/transfers.repository';
import type { User } from '../users/entities/user.entity';
import { USER_COLUMNS } from '../users/users.repository';

export type ExportStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface ExportRow {
  id: string;
  userId: string;
  requestedBy: string;
  status: ExportStatus;
  chunks: number;
  bytes: number;
  detail: string | null;
  createdAt: Date;
  expiresAt: Date;
  /** Past `expiresAt` (the database's clock, the one the cleanup goes by). */
  expired: boolean;
}

const COLUMNS = `id, user_id AS "userId", requested_by AS "requestedBy", status, chunks,
  bytes::float8 AS bytes, detail, created_at AS "createdAt", expires_at AS "expiresAt",
  expires_at <= now() AS expired`;

/** Rows per FETCH: a few MB of rows in memory at a time, whatever the user holds. */
const FETCH_ROWS = 5000;

/**
 * The sections of the document after the profile, each one query over the user's rows in the
 * columns of the feature's own routes (the feature repositories' column lists), `$1` the user.
 * Each is read through a server-side cursor, in the order of the feature's list.
 */
export const SECTIONS = {
  transactions: [
    // Live rows along transactions_owner_date_idx, then the deleted ones
    // (transactions_owner_deleted_idx).
    `SELECT ${TRANSACTION_COLUMNS} FROM transactions t
     WHERE t.owner_id = $1 AND t.deleted_at IS NULL ORDER BY t.date DESC, t.id DESC`,
    `SELECT ${TRANSACTION_COLUMNS} FROM transactions t
     WHERE t.owner_id = $1 AND t.deleted_at IS NOT NULL ORDER BY t.date DESC, t.id DESC`,
  ],
  // Balances as of `$2` (today, UTC), as GET /accounts answers them.
  accounts: [
    `SELECT ${ACCOUNT_COLUMNS}, ${BALANCE_SUMS}
     FROM (SELECT * FROM accounts WHERE owner_id = $1) a ${balanceSql('$2')}
     ORDER BY a.created_at, a.id`,
  ],
  transfers: [
    `SELECT ${TRANSFER_COLUMNS}, r.deleted_at AS "deletedAt" FROM transfers r
     WHERE r.owner_id = $1 ORDER BY r.date DESC, r.id DESC`,
  ],
  budgets: [
    `SELECT ${BUDGET_COLUMNS} FROM budgets b WHERE b.owner_id = $1 ORDER BY b.created_at, b.id`,
  ],
  // Metadata only: the hash is not among the columns.
  apiKeys: [
    `SELECT ${API_KEY_COLUMNS}, revoked_at AS "revokedAt" FROM api_keys
     WHERE user_id = $1 ORDER BY created_at, id`,
  ],
  // The entries the user made (as actor), newest first as GET /audit-logs lists them.
  auditEntries: [
    `SELECT ${AUDIT_COLUMNS} FROM audit_logs WHERE actor_id = $1 ORDER BY at DESC, id DESC`,
  ],
} as const;
export type Section = keyof typeof SECTIONS;

/** Every query on `exports` and `export_chunks`, and the reads of the export document. */
@Injectable()
export class ExportsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** A queued export of `userId`'s data; undefined when there is no such user. */
  async insert(db: Queryable, userId: string, requestedBy: string): Promise<ExportRow | undefined> {
    const [row] = await query<ExportRow>(
      db,
      `INSERT INTO exports (user_id, requested_by) SELECT id, $2 FROM users WHERE id = $1
       RETURNING ${COLUMNS}`,
      [userId, requestedBy],
    );
    return row;
  }

  /** `requestedBy` undefined: anyone's (admins). */
  async find(id: string, requestedBy?: string): Promise<ExportRow | undefined> {
    const [row] = await query<ExportRow>(
      this.db,
      `SELECT ${COLUMNS} FROM exports WHERE id = $1 AND ($2::uuid IS NULL OR requested_by = $2)`,
      [id, requestedBy ?? null],
    );
    return row;
  }

  /**
   * Marks a queued (or, after a crash, still running: nothing of it was committed) export as
   * running; undefined when it is finished already or expired.
   */
  async start(id: string): Promise<ExportRow | undefined> {
    const [row] = await query<ExportRow>(
      this.db,
      `UPDATE exports SET status = 'running', started_at = now()
       WHERE id = $1 AND status IN ('queued', 'running') AND expires_at > now()
       RETURNING ${COLUMNS}`,
      [id],
    );
    return row;
  }

  /** The profile, in the columns of GET /users/:id (never the password hash). */
  async profile(client: PoolClient, userId: string): Promise<User> {
    const { rows } = await client.query<User>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [
      userId,
    ]);
    return rows[0];
  }

  /**
   * The rows of one section, `FETCH_ROWS` at a time, from a server-side cursor on `client`
   * (inside its transaction), so chunks can be written on the same connection between fetches.
   */
  async *section(
    client: PoolClient,
    section: Section,
    params: unknown[],
  ): AsyncGenerator<object[]> {
    for (const sql of SECTIONS[section]) {
      await client.query(`DECLARE export_rows NO SCROLL CURSOR FOR ${sql}`, params);
      for (;;) {
        const { rows } = await client.query<object>(`FETCH ${FETCH_ROWS} FROM export_rows`);
        if (rows.length > 0) yield rows;
        if (rows.length < FETCH_ROWS) break;
      }
      await client.query('CLOSE export_rows');
    }
  }

  async writeChunk(client: PoolClient, id: string, seq: number, data: Buffer): Promise<void> {
    await client.query(`INSERT INTO export_chunks (export_id, seq, data) VALUES ($1, $2, $3)`, [
      id,
      seq,
      data,
    ]);
  }

  /** Success, through the transaction that wrote the chunks: the document appears whole or not at all. */
  async succeed(client: PoolClient, id: string, chunks: number, bytes: number): Promise<void> {
    await client.query(
      `UPDATE exports SET status = 'succeeded', chunks = $2, bytes = $3, finished_at = now()
       WHERE id = $1`,
      [id, chunks, bytes],
    );
  }

  async fail(id: string, detail: string): Promise<void> {
    await this.db.query(
      `UPDATE exports SET status = 'failed', detail = $2, finished_at = now()
       WHERE id = $1 AND status IN ('queued', 'running')`,
      [id, detail],
    );
  }

  /** One chunk of a document, for the download (each read a short query on the pool). */
  async chunk(id: string, seq: number): Promise<Buffer | undefined> {
    const [row] = await query<{ data: Buffer }>(
      this.db,
      `SELECT data FROM export_chunks WHERE export_id = $1 AND seq = $2`,
      [id, seq],
    );
    return row?.data;
  }

  /**
   * Deletes the content of up to `limit` expired exports (SKIP LOCKED: instances share the work);
   * the number of exports emptied.
   */
  async deleteExpiredContent(limit: number): Promise<number> {
    const rows = await query<{ id: string }>(
      this.db,
      `WITH expired AS (
         UPDATE exports SET content_deleted_at = now()
         WHERE id IN (SELECT id FROM exports
                      WHERE expires_at <= now() AND content_deleted_at IS NULL
                      ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id),
       gone AS (DELETE FROM export_chunks c USING expired e WHERE c.export_id = e.id)
       SELECT id FROM expired`,
      [limit],
    );
    return rows.length;
  }
}
