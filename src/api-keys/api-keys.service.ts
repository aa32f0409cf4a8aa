import { createHash, randomBytes } from 'node:crypto';
import {
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleInit,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { warnUnlessUnavailable } from '../common/filters/database-incidents';
import { AccessDenied, keysOf } from '../common/access';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { scopesOf } from '../common/permissions';
import type { ApiKeyAuthenticator, KeyPrincipal } from '../common/principal';
import { validationProblem } from '../common/validation';
import { AuditService, diff } from '../audit/audit.service';
import { inTransaction } from '../database/transaction';
import { JobQueue } from '../jobs/job-queue';
import type { User } from '../users/entities/user.entity';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { ApiKeysRepository } from './api-keys.repository';
import type { ApiKeyResponse, CreatedApiKeyResponse, ListApiKeysDto } from './dto/api-key.response';
import type { CreateApiKeyDto } from './dto/create-api-key.dto';

/** `fin_` and 256 random bits in base64url: the only shape worth a database lookup. */
const KEY_FORMAT = /^fin_[A-Za-z0-9_-]{43}$/;

export const MAX_LIVE_KEYS = 20;
const DAY_MS = 86_400_000;
const DEFAULT_LIFETIME_DAYS = 90;
const MAX_LIFETIME_DAYS = 365;
const AUDITED_FIELDS = ['userId', 'name', 'scopes', 'expiresAt'] as const;
/** Revoked and expired keys are kept this long (their owner sees an expired key lapse), then deleted. */
export const DEAD_KEY_RETENTION_DAYS = 30;
const PURGE_BATCH = 1_000;

const hashOf = (key: string): Buffer => createHash('sha256').update(key).digest();

@Injectable()
export class ApiKeysService implements ApiKeyAuthenticator, OnModuleInit {
  private readonly logger = new Logger('ApiKeys');
  /** Key id → the minute this instance last recorded its use, so use costs one write a minute. */
  private readonly recorded = new Map<string, number>();
  /** Each request's key, looked up once though the throttler and the authentication guard both ask. */
  private readonly perRequest = new WeakMap<object, Promise<KeyPrincipal | undefined>>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: ApiKeysRepository,
    private readonly users: UsersService,
    private readonly usersRepo: UsersRepository,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
  ) {}

  /**
   * Keys revoked or expired more than 30 days ago are deleted hourly, through the job queue (one
   * run per tick across the fleet; the delete is idempotent, so an overlap costs nothing).
   */
  onModuleInit(): void {
    this.jobs.define({
      name: 'api-keys-purge',
      expireInSeconds: 600,
      retryLimit: 2,
      concurrency: 1,
      handler: async () => {
        await this.purgeDead();
      },
    });
    this.jobs.atStart('api-keys-purge');
    this.jobs.every('api-keys-purge', '41 * * * *');
  }

  /** Deletes the keys that ended more than DEAD_KEY_RETENTION_DAYS ago, in batches. */
  async purgeDead(): Promise<number> {
    let purged = 0;
    for (;;) {
      const n = await this.repo.purgeDead(DEAD_KEY_RETENTION_DAYS, PURGE_BATCH);
      purged += n;
      if (n < PURGE_BATCH) break;
    }
    if (purged > 0)
      this.logger.log(
        `Purged ${purged} API keys revoked or expired ${DEAD_KEY_RETENTION_DAYS}+ days ago`,
      );
    return purged;
  }

  /**
   * A new key for the caller. Scopes its role cannot use are refused (422) rather than stored
   * unusable; the cap on live keys is checked under the user's row lock, so two concurrent
   * creations cannot both take the last place.
   */
  async create(actor: User, dto: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const usable = scopesOf(actor.role);
    const refused = dto.scopes.filter((s) => !usable.includes(s));
    if (refused.length > 0) {
      throw new UnprocessableEntityException(
        `The ${actor.role} role cannot use ${refused.join(', ')}; it can use ${usable.join(', ')}`,
      );
    }
    const expiresAt = this.expiry(dto.expiresAt);
    const key = `fin_${randomBytes(32).toString('base64url')}`;
    return inTransaction(this.db, async (m) => {
      await this.usersRepo.lock(m, actor.id);
      if ((await this.repo.countLive(m, actor.id)) >= MAX_LIVE_KEYS) {
        throw new UnprocessableEntityException(
          `At most ${MAX_LIVE_KEYS} live API keys per user; revoke one first`,
        );
      }
      const row = await this.repo.insert(m, {
        userId: actor.id,
        name: dto.name,
        prefix: key.slice(0, 12),
        hash: hashOf(key),
        scopes: dto.scopes,
        expiresAt,
      });
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'api_key.create',
        entityType: 'api_key',
        entityId: row.id,
        changes: diff(null, { ...row, userId: actor.id }, AUDITED_FIELDS),
      });
      return { ...row, key };
    });
  }

  async list(
    actor: User,
    q: ListApiKeysDto,
  ): Promise<{ rows: ApiKeyResponse[]; total: number; page: number; limit: number }> {
    const owner = keysOf(actor);
    if (owner !== undefined && q.userId !== undefined && q.userId.toLowerCase() !== owner) {
      throw new AccessDenied("Only admins may list other users' keys");
    }
    const page = q.page ?? 1;
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    const userId = (q.userId ?? actor.id).toLowerCase();
    return { ...(await this.repo.list(userId, limit, (page - 1) * limit)), page, limit };
  }

  /** Someone else's key is "not found" unless the caller is an admin; so is a revoked one. */
  async findOne(actor: User, id: string): Promise<ApiKeyResponse> {
    const row = await this.repo.find(id, keysOf(actor));
    if (!row) throw new NotFoundException('API key not found');
    const { userId: _userId, ...key } = row;
    return key;
  }

  async revoke(actor: User, id: string): Promise<void> {
    await inTransaction(this.db, async (m) => {
      const revoked = await this.repo.revoke(m, id, keysOf(actor));
      if (!revoked) throw new NotFoundException('API key not found');
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'api_key.revoke',
        entityType: 'api_key',
        entityId: id,
        changes: { revokedAt: { before: null, after: revoked.revokedAt } },
      });
    });
  }

  /**
   * The caller behind a key, or undefined when the key is unknown, revoked, expired or its owner
   * inactive. The key row is read on every request (a revocation applies at once everywhere);
   * the owner comes from the user cache, as for access tokens.
   */
  async authenticate(key: string): Promise<KeyPrincipal | undefined> {
    if (!KEY_FORMAT.test(key)) return undefined;
    const grant = await this.repo.findLiveByHash(hashOf(key));
    if (!grant) return undefined;
    const user = await this.users.findActiveById(grant.userId);
    if (!user) return undefined;
    this.recordUse(grant.id, grant.lastUsedAt);
    return { user, key: { id: grant.id, scopes: grant.scopes } };
  }

  /**
   * `authenticate`, once per request: the throttler needs the answer to pick the bucket (a key
   * that authenticates nobody is an anonymous caller, limited per IP), the authentication guard
   * to admit the caller.
   */
  authenticateOnce(req: object, key: string): Promise<KeyPrincipal | undefined> {
    let principal = this.perRequest.get(req);
    if (principal === undefined) {
      principal = this.authenticate(key);
      this.perRequest.set(req, principal);
    }
    return principal;
  }

  /** `lastUsedAt` to the minute, written at most once a minute per key and instance, off the request path. */
  private recordUse(id: string, lastUsedAt: Date | null): void {
    const minute = Math.floor(Date.now() / 60_000);
    if (lastUsedAt && Math.floor(lastUsedAt.getTime() / 60_000) >= minute) return;
    if (this.recorded.get(id) === minute) return;
    if (this.recorded.size > 10_000) this.recorded.clear();
    this.recorded.set(id, minute);
    this.repo.touch(this.db, id).catch((error: unknown) => {
      this.recorded.delete(id);
      const message = `Could not record the use of API key ${id}: ${String(error)}`;
      warnUnlessUnavailable(this.logger, 'API key use', error, message);
    });
  }

  private expiry(requested: string | undefined): Date {
    const now = Date.now();
    if (requested === undefined) return new Date(now + DEFAULT_LIFETIME_DAYS * DAY_MS);
    const at = new Date(requested);
    if (Number.isNaN(at.getTime()) || at.getTime() <= now) {
      throw validationProblem([{ field: 'expiresAt', message: 'expiresAt must be in the future' }]);
    }
    if (at.getTime() > now + MAX_LIFETIME_DAYS * DAY_MS) {
      throw validationProblem([
        {
          field: 'expiresAt',
          message: `expiresAt must be at most ${MAX_LIFETIME_DAYS} days ahead`,
        },
      ]);
    }
    return at;
  }
}
