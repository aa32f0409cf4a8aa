import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { Scope } from '../common/permissions';
import { type Queryable, query } from '../database/sql';
import type { ApiKeyResponse } from './dto/api-key.response';

/** A key's metadata in its API shape: never its hash. */
export const API_KEY_COLUMNS = `id, name, prefix, scopes, expires_at AS "expiresAt", created_at AS "createdAt",
  last_used_at AS "lastUsedAt"`;

/** A key as authentication sees it. */
export interface KeyGrant {
  id: string;
  userId: string;
  scopes: Scope[];
  lastUsedAt: Date | null;
}

/** Every query on `api_keys`. "Live" means not revoked and not expired. */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(
    m: EntityManager,
    key: {
      userId: string;
      name: string;
      prefix: string;
      hash: Buffer;
      scopes: Scope[];
      expiresAt: Date;
    },
  ): Promise<ApiKeyResponse> {
    const [row] = await query<ApiKeyResponse>(
      m,
      `INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${API_KEY_COLUMNS}`,
      [key.userId, key.name, key.prefix, key.hash, key.scopes, key.expiresAt],
    );
    return row;
  }

  async countLive(m: EntityManager, userId: string): Promise<number> {
    const [row] = await query<{ n: number }>(
      m,
      `SELECT count(*)::int AS n FROM api_keys
       WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [userId],
    );
    return row.n;
  }

  /** The live key with this hash. Always on the primary: a revocation applies at once. */
  async findLiveByHash(hash: Buffer): Promise<KeyGrant | undefined> {
    const [row] = await query<KeyGrant>(
      this.db,
      `SELECT id, user_id AS "userId", scopes, last_used_at AS "lastUsedAt" FROM api_keys
       WHERE key_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [hash],
    );
    return row;
  }

  /** Unrevoked keys (expired ones included, so their owner sees them lapse), newest first. */
  async list(
    userId: string,
    limit: number,
    offset: number,
  ): Promise<{ rows: ApiKeyResponse[]; total: number }> {
    const rows = await query<ApiKeyResponse & { total: number }>(
      this.db,
      `SELECT ${API_KEY_COLUMNS}, count(*) OVER ()::int AS total FROM api_keys
       WHERE user_id = $1 AND revoked_at IS NULL
       ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [userId, limit, offset],
    );
    const total = rows[0]?.total ?? (offset > 0 ? await this.countUnrevoked(userId) : 0);
    return { rows: rows.map(({ total: _total, ...row }) => row), total };
  }

  private async countUnrevoked(userId: string): Promise<number> {
    const [row] = await query<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId],
    );
    return row.n;
  }

  /** An unrevoked key, if `ownerId` (when given) owns it. */
  async find(
    id: string,
    ownerId?: string,
  ): Promise<(ApiKeyResponse & { userId: string }) | undefined> {
    const [row] = await query<ApiKeyResponse & { userId: string }>(
      this.db,
      `SELECT ${API_KEY_COLUMNS}, user_id AS "userId" FROM api_keys
       WHERE id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR user_id = $2)`,
      [id, ownerId ?? null],
    );
    return row;
  }

  /** Revokes an unrevoked key; undefined when there was none (or it is not `ownerId`'s). */
  async revoke(
    m: EntityManager,
    id: string,
    ownerId?: string,
  ): Promise<{ revokedAt: Date } | undefined> {
    const [row] = await query<{ revokedAt: Date }>(
      m,
      `UPDATE api_keys SET revoked_at = now()
       WHERE id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR user_id = $2)
       RETURNING revoked_at AS "revokedAt"`,
      [id, ownerId ?? null],
    );
    return row;
  }

  /**
   * Revokes every unrevoked key of a user (expired ones too: revoked is final, whatever the
   * expiry), in the caller's transaction; the keys revoked, for the audit trail.
   */
  async revokeAllOfUser(
    m: EntityManager,
    userId: string,
  ): Promise<{ id: string; revokedAt: Date }[]> {
    return query<{ id: string; revokedAt: Date }>(
      m,
      `UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL
       RETURNING id, revoked_at AS "revokedAt"`,
      [userId],
    );
  }

  /**
   * Deletes keys revoked or expired more than `days` days ago, at most `batch` of them; how many
   * went. Idempotent, so several instances running it at once only share the work.
   */
  async purgeDead(days: number, batch: number): Promise<number> {
    const rows = await query<{ id: string }>(
      this.db,
      `DELETE FROM api_keys WHERE id IN (
         SELECT id FROM api_keys
         WHERE revoked_at < now() - make_interval(days => $1)
            OR expires_at < now() - make_interval(days => $1)
         LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [days, batch],
    );
    return rows.length;
  }

  /** Records use to the minute: a no-op (no row version written) while the stored minute is current. */
  async touch(db: Queryable, id: string): Promise<void> {
    await db.query(
      `UPDATE api_keys SET last_used_at = date_trunc('minute', now())
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < date_trunc('minute', now()))`,
      [id],
    );
  }
}
