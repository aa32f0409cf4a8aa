import { BadRequestException, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { toUserResponse } from '../users/dto/user.response';
import type { User } from '../users/entities/user.entity';
import { PasswordHasher } from '../users/password-hasher';
import { UsersService } from '../users/users.service';
import type { TokenResponse } from './dto/token.response';
import { RefreshToken } from './entities/refresh-token.entity';

const INVALID_CREDENTIALS = 'Invalid email or password';
const INVALID_REFRESH = 'Invalid refresh token';

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /** Unknown email, wrong password and inactive user are indistinguishable, in body and in time. */
  async login(email: string, password: string): Promise<TokenResponse> {
    const user = await this.users.findByEmailWithHash(email);
    const ok = await this.hasher.verify(password, user?.passwordHash);
    if (!user || !ok || !user.isActive) {
      await this.audit.record(this.db, {
        actorId: null,
        action: 'auth.login_failed',
        entityType: 'user',
        entityId: user?.id ?? null,
        changes: { email },
      });
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    return this.db.transaction((m) => this.issue(m, user, randomUUID()));
  }

  /**
   * Rotates a refresh token. Each token works once: presenting a used (or revoked) one means it
   * leaked, so the whole family descended from that login is revoked.
   */
  async refresh(token: string): Promise<TokenResponse> {
    const outcome = await this.db.transaction(async (m) => {
      const repo = m.getRepository(RefreshToken);
      const stored = await repo.findOne({
        where: { tokenHash: hashToken(token) },
        lock: { mode: 'pessimistic_write' },
      });
      if (!stored) return undefined;
      if (stored.usedAt || stored.revokedAt) {
        await this.revokeFamily(m, stored.familyId);
        await this.audit.record(m, {
          actorId: null,
          action: 'auth.refresh_reuse',
          entityType: 'user',
          entityId: stored.userId,
          changes: { familyId: stored.familyId },
        });
        return undefined;
      }
      if (stored.expiresAt.getTime() <= Date.now()) return undefined;
      const user = await this.users.findActiveById(stored.userId);
      if (!user) return undefined;
      await repo.update({ id: stored.id }, { usedAt: new Date() });
      return this.issue(m, user, stored.familyId);
    });
    if (!outcome) throw new UnauthorizedException(INVALID_REFRESH);
    return outcome;
  }

  /** Revokes the token's family; an unknown token is accepted silently (nothing to reveal). */
  async logout(token: string): Promise<void> {
    const stored = await this.db
      .getRepository(RefreshToken)
      .findOneBy({ tokenHash: hashToken(token) });
    if (stored) await this.revokeFamily(this.db.manager, stored.familyId);
  }

  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
  ): Promise<void> {
    const user = await this.users.findWithHash(userId);
    if (!user || !(await this.hasher.verify(currentPassword, user.passwordHash))) {
      throw new BadRequestException({
        message: 'Validation failed',
        errors: [{ field: 'currentPassword', message: 'currentPassword is incorrect' }],
      });
    }
    await this.users.changePassword(userId, newPassword);
  }

  private async issue(m: EntityManager, user: User, familyId: string): Promise<TokenResponse> {
    const refreshToken = randomBytes(32).toString('base64url');
    await m.getRepository(RefreshToken).insert({
      userId: user.id,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + this.config.jwtRefreshTtl * 1000),
    });
    const accessToken = await this.jwt.signAsync({ sub: user.id, role: user.role });
    return {
      accessToken,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.jwtAccessTtl,
      user: toUserResponse(user),
    };
  }

  private async revokeFamily(m: EntityManager, familyId: string): Promise<void> {
    await m
      .getRepository(RefreshToken)
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('family_id = :familyId AND revoked_at IS NULL', { familyId })
      .execute();
  }
}
