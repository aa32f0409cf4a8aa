import {
  ConflictException,
  GoneException,
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import type { AccountWithSums } from '../accounts/accounts.repository';
import { presentAccount } from '../accounts/accounts.service';
import { AuditService } from '../audit/audit.service';
import type { BudgetRow } from '../budgets/budgets.repository';
import { presentBudget } from '../budgets/budgets.service';
import { type Actor, assertMayExport, exportsOf, mayReadUser } from '../common/access';
import { todayIn } from '../common/dates';
import { inClientTransaction, inTransaction } from '../database/transaction';
import { JobQueue } from '../jobs/job-queue';
import { toUserResponse } from '../users/dto/user.response';
import { ChunkedDocument } from './chunked-document';
import type { ExportResponse } from './dto/export.response';
import { type ExportRow, ExportsRepository, type Section } from './exports.repository';

export const EXPORT_JOB = 'personal-data-export';
export const EXPORT_CLEANUP_JOB = 'export-cleanup';
/** Exports emptied per cleanup statement. */
const CLEANUP_BATCH = 100;

export const exportPath = (id: string) => `/api/v1/exports/${id}`;

/** Identifies the document and its version (docs/schemas/personal-data-export.schema.json). */
const FORMAT = 'finance-api.personal-data-export';
const VERSION = 1;

/** How each section's rows leave: through the feature's presenter where it has one. */
const PRESENT: Record<Section, (row: object) => unknown> = {
  transactions: (row) => row,
  accounts: (row) => presentAccount(row as AccountWithSums),
  transfers: (row) => row,
  budgets: (row) => presentBudget(row as BudgetRow),
  apiKeys: (row) => row,
  // As GET /audit-logs answers them; unmasked: these are the reader's own entries.
  auditEntries: (row) => ({ ...row, changes: (row as { changes: unknown }).changes ?? {} }),
};

/**
 * Personal data export (docs/api.md section 17). A request queues a job; any instance runs it,
 * reading the user's data in one snapshot through server-side cursors and writing the JSON
 * document into `export_chunks` on the same connection, in the same transaction as the
 * `succeeded` status: the document appears whole or not at all, and neither the job nor the
 * download ever holds more than a batch of rows or one chunk in memory.
 */
@Injectable()
export class ExportsService implements OnModuleInit {
  private readonly logger = new Logger(ExportsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: ExportsRepository,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
  ) {}

  onModuleInit(): void {
    this.jobs.define<{ exportId: string }>({
      name: EXPORT_JOB,
      expireInSeconds: 3600,
      retryLimit: 2,
      concurrency: 1,
      pollingIntervalSeconds: 1,
      handler: (data, job) => this.run(data.exportId, job.lastTry),
    });
    this.jobs.define({
      name: EXPORT_CLEANUP_JOB,
      expireInSeconds: 1800,
      retryLimit: 2,
      concurrency: 1,
      handler: async () => {
        await this.deleteExpired();
      },
    });
    this.jobs.atStart(EXPORT_CLEANUP_JOB);
    this.jobs.every(EXPORT_CLEANUP_JOB, '41 * * * *');
  }

  /** Queues an export of `userId`'s data, with its audit entry and its job, in one transaction. */
  async request(actor: Actor, userId: string): Promise<ExportResponse> {
    if (!mayReadUser(actor, userId)) throw new NotFoundException('User not found');
    assertMayExport(actor, userId);
    const row = await inTransaction(this.db, async (m) => {
      const created = await this.repo.insert(m, userId, actor.id);
      if (!created) throw new NotFoundException('User not found');
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'user.export',
        entityType: 'user',
        entityId: created.userId,
        changes: { exportId: created.id },
      });
      await this.jobs.send(EXPORT_JOB, { exportId: created.id }, { db: m });
      return created;
    });
    this.jobs.wake(EXPORT_JOB);
    return toResponse(row);
  }

  async get(actor: Actor, id: string): Promise<ExportResponse> {
    return toResponse(await this.visible(actor, id));
  }

  /** The finished document as a stream of its chunks, read one at a time, with its row (`bytes`: its size). */
  async download(actor: Actor, id: string): Promise<{ row: ExportRow; body: Readable }> {
    const row = await this.visible(actor, id);
    if (row.status !== 'succeeded') {
      throw new ConflictException(
        row.status === 'failed'
          ? `The export failed (${row.detail ?? 'no detail'}); request a new one`
          : `The export is ${row.status}; download it once GET ${exportPath(id)} says succeeded`,
      );
    }
    const repo = this.repo;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = 0; seq < row.chunks; seq++) {
        const data = await repo.chunk(row.id, seq);
        if (!data) throw new Error(`export ${row.id}: chunk ${seq} is gone`);
        yield data;
      }
    }
    // One chunk read ahead at most: the rest stays in the database until the client reads on.
    return { row, body: Readable.from(chunks(), { objectMode: false, highWaterMark: 1 }) };
  }

  /** The job: the whole document, or (after the last try) a failed export. */
  async run(exportId: string, lastTry = true): Promise<void> {
    const job = await this.repo.start(exportId);
    if (!job) return; // finished already (a duplicate or a late retry), or expired
    try {
      await inClientTransaction(
        this.db,
        'BEGIN ISOLATION LEVEL REPEATABLE READ',
        async (client) => {
          const doc = new ChunkedDocument((seq, data) =>
            this.repo.writeChunk(client, exportId, seq, data),
          );
          const profile = await this.repo.profile(client, job.userId);
          await doc.write(
            `{"format":"${FORMAT}","version":${VERSION},"exportId":"${exportId}",` +
              `"userId":"${job.userId}","generatedAt":${JSON.stringify(new Date())},` +
              `"profile":${JSON.stringify(toUserResponse(profile))}`,
          );
          const params = [job.userId, todayIn('UTC')];
          for (const section of Object.keys(PRESENT) as Section[]) {
            const args = section === 'accounts' ? params : params.slice(0, 1);
            await doc.array(section, this.repo.section(client, section, args), PRESENT[section]);
          }
          await doc.write('}');
          const { chunks, bytes } = await doc.end();
          await this.repo.succeed(client, exportId, chunks, bytes);
        },
      );
    } catch (error) {
      this.logger.warn(`export ${exportId} failed: ${String(error)}`);
      // The queue retries it from the start (nothing of it was committed); after the last try
      // it must not stay "running".
      if (lastTry)
        await this.repo.fail(exportId, 'the export could not be completed').catch(() => undefined);
      throw error;
    }
  }

  /** Deletes the stored content of every expired export; how many were emptied. */
  async deleteExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.repo.deleteExpiredContent(CLEANUP_BATCH);
      total += n;
      if (n < CLEANUP_BATCH) break;
    }
    if (total > 0) this.logger.log(`Deleted the content of ${total} expired export(s)`);
    return total;
  }

  /** The caller's own export (admins: anyone's); someone else's is not found, an expired one gone. */
  private async visible(actor: Actor, id: string): Promise<ExportRow> {
    const row = await this.repo.find(id, exportsOf(actor));
    if (!row) throw new NotFoundException('Export not found');
    if (row.expired)
      throw new GoneException(
        `The export expired at ${row.expiresAt.toISOString()} and its content is deleted; request a new one`,
      );
    return row;
  }
}

function toResponse(row: ExportRow): ExportResponse {
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  };
}
