import { Injectable } from '@nestjs/common';
import { type EntityManager, IsNull } from 'typeorm';
import { query } from '../database/sql';
import { RefreshToken } from './entities/refresh-token.entity';

/** Every query on `refresh_tokens`; tokens are only ever looked up by their hash. */
@Injectable()
export class RefreshTokensRepository {
  findByHash(m: EntityManager, tokenHash: string): Promise<RefreshToken | null> {
    return m.getRepository(RefreshToken).findOneBy({ tokenHash });
  }

  /**
   * Serialises everything that rotates or revokes one family until the transaction ends, so a
   * rotation cannot add a live token behind a revocation's back.
   */
  async lockFamily(m: EntityManager, familyId: string): Promise<void> {
    await m.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [familyId]);
  }

  /** The token, locked until the transaction ends: concurrent presentations queue here. */
  lockByHash(m: EntityManager, tokenHash: string): Promise<RefreshToken | null> {
    return m
      .getRepository(RefreshToken)
      .findOne({ where: { tokenHash }, lock: { mode: 'pessimistic_write' } });
  }

  async insert(
    m: EntityManager,
    token: Pick<RefreshToken, 'userId' | 'familyId' | 'tokenHash' | 'expiresAt'>,
  ): Promise<void> {
    await m.getRepository(RefreshToken).insert(token);
  }

  async markUsed(m: EntityManager, id: string): Promise<void> {
    await m.getRepository(RefreshToken).update({ id }, { usedAt: new Date() });
  }

  /** Revokes the live tokens of a family; returns how many were still live. */
  async revokeFamily(m: EntityManager, familyId: string): Promise<number> {
    const rows = await query(
      m,
      `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL RETURNING 1`,
      [familyId],
    );
    return rows.length;
  }

  async revokeAllOfUser(m: EntityManager, userId: string): Promise<void> {
    await m
      .getRepository(RefreshToken)
      .update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
