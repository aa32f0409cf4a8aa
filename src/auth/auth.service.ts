import { Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { toUserResponse } from '../users/dto/user.response';
import type { User } from '../users/entities/user.entity';
import { PasswordHasher } from '../users/password-hasher';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import type { TokenResponse } from './dto/token.response';
import { RefreshTokensRepository } from './refresh-tokens.repository';

const INVALID_CREDENTIALS = 'Invalid email or password';
const INVALID_REFRESH = 'Invalid refresh token';

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersRepository,
    private readonly userService: UsersService,
    private readonly tokens: RefreshTokensRepository,
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
    // The password was checked without a connection held (bcrypt is slow); the token is issued
    // only if that check still holds once the user row is locked.
    const refreshToken = await inTransaction(this.db, async (m) =>
      (await this.users.lockIfPasswordIs(m, user.id, user.passwordHash))
        ? this.store(m, user, randomUUID())
        : undefined,
    );
    if (refreshToken === undefined) throw new UnauthorizedException(INVALID_CREDENTIALS);
    return this.pair(user, refreshToken);
  }

  /**
   * Rotates a refresh token. Each token works once: presenting a used (or revoked) one means it
   * leaked, so the whole family descended from that login is revoked. Locks are taken in one
   * order everywhere (the user row, then the family, then the token), so concurrent refreshes,
   * logouts, password changes and deactivations serialise without deadlocks and none of them
   * can leave a live token behind a revocation.
   */
  async refresh(token: string): Promise<TokenResponse> {
    const tokenHash = hashToken(token);
    const outcome = await inTransaction(this.db, async (m) => {
      const found = await this.tokens.findByHash(m, tokenHash);
      if (!found) return undefined;
      const user = await this.users.lockActiveForShare(m, found.userId);
      await this.tokens.lockFamily(m, found.familyId);
      const stored = await this.tokens.lockByHash(m, tokenHash);
      if (!stored) return undefined;
      if (stored.usedAt || stored.revokedAt) {
        await this.tokens.revokeFamily(m, stored.familyId);
        await this.audit.recordReuseOnce(m, stored.userId, stored.familyId);
        return undefined;
      }
      if (stored.expiresAt.getTime() <= Date.now() || !user) return undefined;
      await this.tokens.markUsed(m, stored.id);
      return { user, refreshToken: await this.store(m, user, stored.familyId) };
    });
    if (!outcome) throw new UnauthorizedException(INVALID_REFRESH);
    return this.pair(outcome.user, outcome.refreshToken);
  }

  /** Revokes the token's family; an unknown token is accepted silently (nothing to reveal). */
  async logout(token: string): Promise<void> {
    await inTransaction(this.db, async (m) => {
      const found = await this.tokens.findByHash(m, hashToken(token));
      if (!found) return;
      await this.tokens.lockFamily(m, found.familyId);
      await this.tokens.revokeFamily(m, found.familyId);
    });
  }

  changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void> {
    return this.userService.changePassword(userId, currentPassword, newPassword);
  }

  /** Stores a new refresh token of the family and returns it (the only time it exists in clear). */
  private async store(m: EntityManager, user: User, familyId: string): Promise<string> {
    const refreshToken = randomBytes(32).toString('base64url');
    await this.tokens.insert(m, {
      userId: user.id,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + this.config.jwtRefreshTtl * 1000),
    });
    return refreshToken;
  }

  /** Signs the access token after the transaction, so no connection is held while signing. */
  private async pair(user: User, refreshToken: string): Promise<TokenResponse> {
    const accessToken = await this.jwt.signAsync({ sub: user.id, role: user.role });
    return {
      accessToken,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.jwtAccessTtl,
      user: toUserResponse(user),
    };
  }
}
