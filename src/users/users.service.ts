import {
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, type EntityManager, IsNull, QueryFailedError } from 'typeorm';
import { AuditService, diff } from '../audit/audit.service';
import { assertIfMatch } from '../common/etag';
import { AppConfig } from '../config/app-config';
import { query } from '../database/sql';
import { likePattern } from '../common/validators';
import { RefreshToken } from '../auth/entities/refresh-token.entity';
import type { CreateUserDto } from './dto/create-user.dto';
import type { ListUsersDto } from './dto/list-users.dto';
import type { UpdateUserDto } from './dto/update-user.dto';
import { toUserResponse } from './dto/user.response';
import { User } from './entities/user.entity';
import { PasswordHasher } from './password-hasher';

const AUDITED_FIELDS = ['name', 'email', 'role', 'isActive'] as const;
// The trail says that a password changed, never what to.
const PASSWORD_CHANGED = { before: '[redacted]', after: '[redacted]' };

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  private get users() {
    return this.db.getRepository(User);
  }

  /** First start with no users: create the admin from ADMIN_EMAIL/ADMIN_PASSWORD or a generated one. */
  async onApplicationBootstrap(): Promise<void> {
    const email = this.config.adminEmail ?? 'admin@example.com';
    const generated = this.config.adminPassword === undefined;
    const password = this.config.adminPassword ?? randomBytes(12).toString('base64url');
    const created = await this.db.transaction(async (m) => {
      // Several instances may start at once; the lock makes exactly one of them bootstrap.
      await m.query('SELECT pg_advisory_xact_lock(727001)');
      if ((await m.getRepository(User).count()) > 0) return false;
      await m.getRepository(User).insert({
        name: 'Administrator',
        email,
        role: 'admin',
        passwordHash: await this.hasher.hash(password),
      });
      return true;
    });
    if (!created) return;
    if (generated) {
      this.logger.warn(
        `Created the first admin ${email} with the generated password ${password} (shown once; change it)`,
      );
    } else {
      this.logger.log(`Created the first admin ${email}`);
    }
  }

  async create(actor: User, dto: CreateUserDto): Promise<User> {
    const passwordHash = await this.hasher.hash(dto.password);
    try {
      return await this.db.transaction(async (m) => {
        const repo = m.getRepository(User);
        const { identifiers } = await repo.insert({
          name: dto.name,
          email: dto.email,
          role: dto.role,
          passwordHash,
        });
        const user = await repo.findOneByOrFail({ id: identifiers[0].id as string });
        await this.audit.record(m, {
          actorId: actor.id,
          action: 'user.create',
          entityType: 'user',
          entityId: user.id,
          changes: diff(null, user, AUDITED_FIELDS),
        });
        return user;
      });
    } catch (error) {
      throw uniqueEmail(error);
    }
  }

  async list(
    query: ListUsersDto,
  ): Promise<{ rows: User[]; total: number; page: number; limit: number }> {
    const page = query.page ?? 1;
    const limit = query.limit ?? 20;
    const qb = this.users.createQueryBuilder('u');
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (query.isActive !== undefined)
      qb.andWhere('u.is_active = :isActive', { isActive: query.isActive });
    if (query.q) qb.andWhere('(u.name ILIKE :q OR u.email ILIKE :q)', { q: likePattern(query.q) });
    const [rows, total] = await qb
      .orderBy('u.created_at', 'ASC')
      .addOrderBy('u.id', 'ASC')
      .skip((page - 1) * limit)
      .take(limit)
      .getManyAndCount();
    return { rows, total, page, limit };
  }

  /** Admins see anyone; everyone else only themselves (another id is simply not found). */
  async findVisible(id: string, actor: User): Promise<User> {
    if (actor.role !== 'admin' && actor.id !== id) throw new NotFoundException('User not found');
    const user = await this.users.findOneBy({ id });
    if (!user) throw new NotFoundException('User not found');
    return user;
  }

  /** The per-request reload behind the JWT guard: one primary-key lookup. */
  // Plain SQL rather than the repository's find(): it runs on every request, and the ORM's query
  // building and hydration cost more than the lookup itself (profiled under load).
  async findActiveById(id: string): Promise<User | null> {
    const [user] = await query<User>(
      this.db,
      `SELECT id, name, email, role, is_active AS "isActive", created_at AS "createdAt", updated_at AS "updatedAt"
       FROM users WHERE id = $1 AND is_active`,
      [id],
    );
    return user ?? null;
  }

  findByEmailWithHash(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email })
      .getOne();
  }

  findWithHash(id: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.id = :id', { id })
      .getOne();
  }

  /** Applies a stale `If-Match` check, the last-active-admin rule and the audit entry atomically. */
  async update(actor: User, id: string, dto: UpdateUserDto, ifMatch?: string): Promise<User> {
    const passwordHash =
      dto.password === undefined ? undefined : await this.hasher.hash(dto.password);
    return this.db.transaction(async (m) => {
      const repo = m.getRepository(User);
      // Role and activation changes are serialised, so two admins demoting each other at the
      // same moment cannot both pass the last-active-admin check.
      if (dto.role !== undefined || dto.isActive !== undefined)
        await m.query('SELECT pg_advisory_xact_lock(727002)');
      const user = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFoundException('User not found');
      assertIfMatch(ifMatch, toUserResponse(user));
      const losesAdmin =
        user.role === 'admin' &&
        user.isActive &&
        ((dto.role !== undefined && dto.role !== 'admin') || dto.isActive === false);
      if (losesAdmin) await this.assertAnotherActiveAdmin(m, id);
      const changes: Partial<User> = {};
      if (dto.name !== undefined) changes.name = dto.name;
      if (dto.role !== undefined) changes.role = dto.role;
      if (dto.isActive !== undefined) changes.isActive = dto.isActive;
      if (passwordHash !== undefined) changes.passwordHash = passwordHash;
      if (Object.keys(changes).length > 0) await repo.update({ id }, changes);
      if (dto.isActive === false || passwordHash !== undefined)
        await this.revokeRefreshTokens(m, id);
      const after = await repo.findOneByOrFail({ id });
      const audited = diff(user, after, AUDITED_FIELDS);
      if (passwordHash !== undefined) audited.password = PASSWORD_CHANGED;
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'user.update',
        entityType: 'user',
        entityId: id,
        changes: audited,
      });
      return after;
    });
  }

  async changePassword(id: string, newPassword: string): Promise<void> {
    const passwordHash = await this.hasher.hash(newPassword);
    await this.db.transaction(async (m) => {
      await m.getRepository(User).update({ id }, { passwordHash });
      await this.revokeRefreshTokens(m, id);
      await this.audit.record(m, {
        actorId: id,
        action: 'user.update',
        entityType: 'user',
        entityId: id,
        changes: { password: PASSWORD_CHANGED },
      });
    });
  }

  private async revokeRefreshTokens(m: EntityManager, userId: string): Promise<void> {
    await m
      .getRepository(RefreshToken)
      .update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  private async assertAnotherActiveAdmin(m: EntityManager, exceptId: string): Promise<void> {
    const others = await m
      .getRepository(User)
      .createQueryBuilder('u')
      .where(`u.role = 'admin' AND u.is_active AND u.id <> :exceptId`, { exceptId })
      .getCount();
    if (others === 0) {
      throw new ConflictException('This is the last active admin; promote another admin first');
    }
  }
}

function uniqueEmail(error: unknown): unknown {
  const code =
    error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
  return code === '23505' ? new ConflictException('A user with this email already exists') : error;
}
