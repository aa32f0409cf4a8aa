import { Injectable } from '@nestjs/common';
import { type EntityManager, IsNull } from 'typeorm';
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

  /** Revokes the live tokens of a family. */
  async revokeFamily(m: EntityManager, familyId: string): Promise<void> {
    await m
      .getRepository(RefreshToken)
      .update({ familyId, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
  }

  async revokeAllOfUser(m: EntityManager, userId: string): Promise<void> {
    await m
      .getRepository(RefreshToken)
      .update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
