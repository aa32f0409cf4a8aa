import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { type PurgeTable, purgeRows } from '../database/purge';
import { Params } from '../database/sql';
import { EventsService } from '../events/events.service';
import { JobQueue } from '../jobs/job-queue';
import { PlannerStatistics } from '../transactions/planner-statistics';

/** Rows per statement: short locks, and a crash loses at most one batch's work (redone next run). */
const BATCH = 1000;

const KINDS = {
  transactions: {
    action: 'transaction.purge',
    entityType: 'transaction',
    event: 'transaction.purged',
  },
  transfers: { action: 'transfer.purge', entityType: 'transfer', event: 'transfer.purged' },
} as const;

/**
 * The trash (docs/api.md section 17): soft-deleted transactions and transfers are deleted for good
 * once deleted for longer than TRASH_RETENTION_DAYS, by an hourly job (one instance at a time,
 * through the job queue). Each batch locks its rows with SKIP LOCKED and commits them with their
 * audit entries and events, so a re-run or a second instance finds only what is left, and a row
 * being restored or edited meanwhile is skipped until the next run.
 */
@Injectable()
export class TrashPurge implements OnModuleInit {
  private readonly logger = new Logger(TrashPurge.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly jobs: JobQueue,
    private readonly config: AppConfig,
    private readonly statistics: PlannerStatistics,
  ) {}

  onModuleInit(): void {
    // An instance that keeps the trash forever takes no purge job, so it cannot complete one
    // that an instance with a retention queued.
    if (this.config.trashRetentionDays === 0) return;
    this.jobs.define({
      name: 'trash-purge',
      expireInSeconds: 1800,
      retryLimit: 2,
      concurrency: 1,
      handler: async () => {
        await this.purgeExpired();
      },
    });
    this.jobs.atStart('trash-purge');
    this.jobs.every('trash-purge', '23 * * * *');
  }

  /** Purges everything past retention; the number of rows purged per table. */
  async purgeExpired(): Promise<Record<PurgeTable, number>> {
    const days = this.config.trashRetentionDays;
    const purged = { transactions: 0, transfers: 0 };
    if (days === 0) return purged;
    for (const table of ['transactions', 'transfers'] as const) {
      for (;;) {
        const n = await this.purgeBatch(table, days);
        purged[table] += n;
        if (n < BATCH) break;
      }
    }
    if (purged.transactions + purged.transfers > 0)
      this.logger.log(
        `Purged ${purged.transactions} transaction(s) and ${purged.transfers} transfer(s) deleted more than ${days} day(s) ago`,
      );
    // A first purge after a mass delete can empty much of the table: its statistics, in the job.
    if (purged.transactions > 0)
      await this.statistics
        .refresh(purged.transactions)
        .catch((error: unknown) => this.logger.warn(`ANALYZE after the purge: ${String(error)}`));
    return purged;
  }

  private async purgeBatch(table: PurgeTable, days: number): Promise<number> {
    const params = new Params();
    const kind = KINDS[table];
    const pick = `SELECT id FROM ${table}
      WHERE deleted_at < now() - make_interval(days => ${params.p(days)})
      ORDER BY deleted_at LIMIT ${params.p(BATCH)} FOR UPDATE SKIP LOCKED`;
    const rows = await purgeRows(this.db, params, table, pick, (p, source) => [
      this.audit.insertFrom(p, source, {
        actorId: null,
        action: kind.action,
        entityType: kind.entityType,
      }),
      this.events.purgedFrom(p, source, kind.event, null),
    ]);
    return rows.length;
  }
}
