import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { query } from '../database/sql';
import { RefreshToken } from './entities/refresh-token.entity';

/** Every query on `refresh_tokens`; tokens are only ever looked up by their hash. */
@Injectable()
export class RefreshTokensRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

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

  /** Logout: revokes the family of the token with this hash, in one statement. */
  async revokeFamilyOfHash(tokenHash: string): Promise<void> {
    await query(
      this.db,
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`,
      [tokenHash],
    );
  }

  async revokeAllOfUser(m: EntityManager, userId: string): Promise<void> {
    await m
      .getRepository(RefreshToken)
      .update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
