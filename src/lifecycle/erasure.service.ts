import {
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import { AuditService } from '../audit/audit.service';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { inClientTransaction, inTransaction } from '../database/transaction';
import { EventsService } from '../events/events.service';
import { JobQueue } from '../jobs/job-queue';
import type { User } from '../users/entities/user.entity';
import { PasswordHasher } from '../users/password-hasher';
import { isErased } from '../users/tombstone';
import { UserCache } from '../users/user-cache';
import { UsersRepository } from '../users/users.repository';
import { ADMIN_CHANGE_LOCK, UsersService } from '../users/users.service';
import type { ErasureResponse } from './dto/erasure.response';
import { ErasureRepository } from './erasure.repository';

export const ERASURE_JOB = 'user-erasure';

/**
 * Erasure of a user's personal data (docs/api.md section 17), in two steps. The request, in one
 * transaction, checks the rules, deactivates the user and revokes its refresh tokens and API keys
 * (so every credential is refused from the moment it answers, on every instance: the users
 * trigger NOTIFYs their caches), records `user.erase` and enqueues the job. The job then deletes
 * and redacts everything in one transaction, retried until it commits, as the async import job
 * runs (import-jobs.service.ts).
 */
@Injectable()
export class ErasureService implements OnModuleInit {
  private readonly logger = new Logger(ErasureService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: ErasureRepository,
    private readonly users: UsersRepository,
    private readonly userRules: UsersService,
    private readonly tokens: RefreshTokensRepository,
    private readonly keys: ApiKeysRepository,
    private readonly hasher: PasswordHasher,
    private readonly cache: UserCache,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly jobs: JobQueue,
  ) {}

  onModuleInit(): void {
    this.jobs.define<{ userId: string; requestedBy: string }>({
      name: ERASURE_JOB,
      expireInSeconds: 3600,
      // "Retried until done": a conflict or a crash rolls the whole erasure back, and the next
      // try starts over on what is there then.
      retryLimit: 100,
      concurrency: 1,
      pollingIntervalSeconds: 1,
      handler: (data) => this.run(data.userId, data.requestedBy),
    });
  }

  async request(actor: User, id: string): Promise<ErasureResponse> {
    // API keys never get here: the route refuses them (permissions.ts), as erasure is a human
    // decision that cannot be undone.
    if (actor.id === id) throw new ConflictException('You cannot erase yourself');
    const status = await inTransaction(this.db, async (m) => {
      // Serialised with role and activation changes, like the last-active-admin rule of PATCH.
      await this.users.lockKey(m, ADMIN_CHANGE_LOCK);
      const user = await this.users.lock(m, id);
      if (!user) throw new NotFoundException('User not found');
      if (isErased(user)) return 'erased' as const;
      await this.userRules.assertNotLastActiveAdmin(m, user);
      if (user.isActive) await this.users.update(m, id, { isActive: false });
      await this.tokens.revokeAllOfUser(m, id);
      await this.keys.revokeAllOfUser(m, id);
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'user.erase',
        entityType: 'user',
        entityId: id,
      });
      await this.jobs.send(ERASURE_JOB, { userId: id, requestedBy: actor.id }, { db: m });
      return 'queued' as const;
    });
    // This instance refuses the user on its very next request; the others hear the NOTIFY.
    this.cache.invalidate(id);
    if (status === 'queued') this.jobs.wake(ERASURE_JOB);
    return { userId: id, status };
  }

  /** The job: everything in one transaction; a second run of a finished erasure does nothing. */
  async run(userId: string, requestedBy: string): Promise<void> {
    // The bcrypt work before the transaction: no connection is held while it runs.
    const unusable = await this.hasher.hash(randomBytes(32).toString('base64url'));
    // A client transaction, without the statement timeout of requests: a user with many rows
    // makes long statements (docs/performance.md), and a timeout would fail every retry alike.
    const done = await inClientTransaction(this.db, 'BEGIN', async (m) => {
      const user = await this.repo.lockTarget(m, userId);
      if (!user || isErased(user)) return undefined;
      await this.repo.lockDispatch(m);
      await this.repo.allowAuditRedaction(m);
      // Before the deletes: the user's rows are what finds the entries about them.
      const redacted = await this.repo.redactAudit(m, user);
      const deleted = await this.repo.deleteOwnedRows(m, userId);
      // Again: a write to the user's rows in flight when the job started (an admin's edit) is
      // waited for by the deletes, and its audit entry is visible only from here on.
      const late = await this.repo.redactAudit(m, user);
      const copies = await this.repo.deleteCopies(m, user);
      await this.repo.tombstone(m, userId, unusable);
      // After the events about the user are gone: this one says only that it happened.
      await this.events.record(m, {
        type: 'user.erased',
        actorId: requestedBy,
        data: { id: userId },
      });
      return { redacted: redacted + late, ...deleted, ...copies };
    });
    this.cache.invalidate(userId);
    if (done)
      this.logger.log(
        `Erased user ${userId}: ${Object.entries(done)
          .map(([k, n]) => `${k}=${n}`)
          .join(' ')}`,
      );
  }
}
