import {
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import { AuditService, diff } from '../audit/audit.service';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import {
  assertKeyMayChangeUser,
  assertKeyMayWriteUser,
  masksOthersEmails,
  maskUser,
  mayReadUser,
} from '../common/access';
import { currentRequest } from '../common/request-context';
import { assertIfMatch } from '../common/etag';
import { validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { EventsService } from '../events/events.service';
import { inTransaction } from '../database/transaction';
import type { CreateUserDto } from './dto/create-user.dto';
import type { ListUsersDto } from './dto/list-users.dto';
import type { UpdateUserDto } from './dto/update-user.dto';
import { toUserResponse } from './dto/user.response';
import { User } from './entities/user.entity';
import { PasswordHasher } from './password-hasher';
import { isErased } from './tombstone';
import { UserCache } from './user-cache';
import { type UserChanges, UsersRepository } from './users.repository';

const AUDITED_FIELDS = ['name', 'email', 'role', 'isActive'] as const;
// The trail says that a password changed, never what to.
const PASSWORD_CHANGED = { before: '[redacted]', after: '[redacted]' };
// pg_advisory_xact_lock keys.
const BOOTSTRAP_LOCK = 727001;
export const ADMIN_CHANGE_LOCK = 727002;

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersRepository,
    private readonly tokens: RefreshTokensRepository,
    private readonly keys: ApiKeysRepository,
    private readonly hasher: PasswordHasher,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly cache: UserCache,
    private readonly events: EventsService,
  ) {}

  /** First start with no users: create the admin from ADMIN_EMAIL/ADMIN_PASSWORD or a generated one. */
  async onApplicationBootstrap(): Promise<void> {
    if ((await this.users.count(this.db.manager)) > 0) return;
    const email = this.config.adminEmail ?? 'admin@example.com';
    const generated = this.config.adminPassword === undefined;
    const password = this.config.adminPassword ?? randomBytes(12).toString('base64url');
    const passwordHash = await this.hasher.hash(password);
    const created = await inTransaction(this.db, async (m) => {
      // Several instances may start at once; the lock makes exactly one of them bootstrap.
      await this.users.lockKey(m, BOOTSTRAP_LOCK);
      if ((await this.users.count(m)) > 0) return false;
      await this.users.insert(m, { name: 'Administrator', email, role: 'admin', passwordHash });
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

  /**
   * Through an API key, without a password and never as an admin (access.ts): such a user gets
   * the hash of a random secret nobody knows, so it cannot sign in until an admin, signed in,
   * sets a password.
   */
  async create(actor: User, dto: CreateUserDto): Promise<User> {
    assertKeyMayWriteUser(viaApiKey(), dto);
    const passwordHash = await this.hasher.hash(
      dto.password ?? randomBytes(32).toString('base64url'),
    );
    try {
      return await inTransaction(this.db, async (m) => {
        const user = await this.users.insert(m, {
          name: dto.name,
          email: dto.email,
          role: dto.role,
          passwordHash,
        });
        await this.audit.record(m, {
          actorId: actor.id,
          action: 'user.create',
          entityType: 'user',
          entityId: user.id,
          changes: diff(null, user, AUDITED_FIELDS),
        });
        await this.events.record(m, {
          type: 'user.created',
          actorId: actor.id,
          data: toUserResponse(user),
        });
        return user;
      });
    } catch (error) {
      throw uniqueEmail(error);
    }
  }

  /**
   * Oldest first; emails masked where the reader's role says so (access.ts), and then not
   * searched either: `q` would reveal a masked address one guessed fragment at a time.
   */
  async list(
    reader: User,
    query: ListUsersDto,
  ): Promise<{ rows: User[]; total: number; page: number; limit: number }> {
    const page = query.page ?? 1;
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    // A search into masked emails would reveal them one guessed letter at a time.
    const [rows, total] = await this.users.list(query, page, limit, masksOthersEmails(reader));
    return { rows: rows.map((user) => maskUser(reader, user)), total, page, limit };
  }

  /** One user as `reader` may see it: itself, or (admins, auditors) anyone, masked per policy. */
  async read(id: string, reader: User): Promise<User> {
    return maskUser(reader, await this.findVisible(id, reader));
  }

  /** Admins see anyone; everyone else only themselves (another id is simply not found). */
  async findVisible(id: string, actor: User): Promise<User> {
    if (!mayReadUser(actor, id)) throw new NotFoundException('User not found');
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException('User not found');
    return user;
  }

  /** The per-request reload behind the JWT guard, answered from the user cache when it can be. */
  findActiveById(id: string): Promise<User | null> {
    return this.cache.get(id, () => this.users.findActiveById(id));
  }

  /** Applies a stale `If-Match` check, the last-active-admin rule and the audit entry atomically. */
  async update(actor: User, id: string, dto: UpdateUserDto, ifMatch?: string): Promise<User> {
    assertKeyMayWriteUser(viaApiKey(), dto);
    const passwordHash =
      dto.password === undefined ? undefined : await this.hasher.hash(dto.password);
    const updated = await inTransaction(this.db, async (m) => {
      // Role and activation changes are serialised, so two admins demoting each other at the
      // same moment cannot both pass the last-active-admin check.
      if (dto.role !== undefined || dto.isActive !== undefined)
        await this.users.lockKey(m, ADMIN_CHANGE_LOCK);
      const user = await this.users.lock(m, id);
      if (!user) throw new NotFoundException('User not found');
      if (isErased(user)) throw new ConflictException('The user is erased; nothing of it changes');
      assertKeyMayChangeUser(viaApiKey(), user);
      assertIfMatch(ifMatch, toUserResponse(user));
      if ((dto.role !== undefined && dto.role !== 'admin') || dto.isActive === false)
        await this.assertNotLastActiveAdmin(m, user);
      const changes: UserChanges = {};
      if (dto.name !== undefined) changes.name = dto.name;
      if (dto.role !== undefined) changes.role = dto.role;
      if (dto.isActive !== undefined) changes.isActive = dto.isActive;
      if (passwordHash !== undefined) changes.passwordHash = passwordHash;
      const after = await this.users.update(m, id, changes);
      if (dto.isActive === false || passwordHash !== undefined)
        await this.tokens.revokeAllOfUser(m, id);
      // Revoked, not paused: reactivating the user must not bring old keys back to life.
      if (dto.isActive === false) {
        for (const key of await this.keys.revokeAllOfUser(m, id)) {
          await this.audit.record(m, {
            actorId: actor.id,
            action: 'api_key.revoke',
            entityType: 'api_key',
            entityId: key.id,
            changes: { revokedAt: { before: null, after: key.revokedAt } },
          });
        }
      }
      const audited = diff(user, after, AUDITED_FIELDS);
      if (passwordHash !== undefined) audited.password = PASSWORD_CHANGED;
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'user.update',
        entityType: 'user',
        entityId: id,
        changes: audited,
      });
      await this.events.record(m, {
        type: 'user.updated',
        actorId: actor.id,
        data: toUserResponse(after),
      });
      return after;
    });
    // This instance sees the change on its very next request; the others hear the NOTIFY.
    this.cache.invalidate(id);
    return updated;
  }

  /**
   * Refuses to take away the last active admin (a demotion, a deactivation, an erasure). Call it
   * holding ADMIN_CHANGE_LOCK, so two such changes cannot both pass.
   */
  async assertNotLastActiveAdmin(m: EntityManager, user: User): Promise<void> {
    if (!user.isActive || user.role !== 'admin') return;
    if ((await this.users.countOtherActiveAdmins(m, user.id)) === 0)
      throw new ConflictException('This is the last active admin; promote another admin first');
  }

  /**
   * Changes the caller's own password after checking the current one. The bcrypt work runs before
   * any connection is taken; the write then succeeds only if the hash is still the one checked,
   * so of two concurrent changes with the same current password exactly one wins.
   */
  async changePassword(id: string, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.users.findWithHash(id);
    if (!user || !(await this.hasher.verify(currentPassword, user.passwordHash))) {
      throw wrongCurrentPassword();
    }
    const passwordHash = await this.hasher.hash(newPassword);
    await inTransaction(this.db, async (m) => {
      if (!(await this.users.replacePasswordHash(m, id, user.passwordHash, passwordHash)))
        throw wrongCurrentPassword();
      await this.tokens.revokeAllOfUser(m, id);
      await this.audit.record(m, {
        actorId: id,
        action: 'user.update',
        entityType: 'user',
        entityId: id,
        changes: { password: PASSWORD_CHANGED },
      });
    });
    this.cache.invalidate(id);
  }
}

/** Whether this request came with an API key rather than a signed-in session. */
const viaApiKey = (): boolean => currentRequest()?.apiKeyId !== undefined;

function wrongCurrentPassword() {
  return validationProblem([{ field: 'currentPassword', message: 'currentPassword is incorrect' }]);
}

function uniqueEmail(error: unknown): unknown {
  const code =
    error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
  return code === '23505' ? new ConflictException('A user with this email already exists') : error;
}
