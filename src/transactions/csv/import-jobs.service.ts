import {
  HttpException,
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { ownRowsOf, writeOwner } from '../../common/access';
import { validationProblem } from '../../common/validation';
import { AppConfig } from '../../config/app-config';
import { inClientTransaction, inTransaction } from '../../database/transaction';
import { EventsService } from '../../events/events.service';
import { JobQueue } from '../../jobs/job-queue';
import type { User } from '../../users/entities/user.entity';
import type { ImportJobResponse, ImportQueryDto, ImportRowError } from '../dto/import-query.dto';
import { PlannerStatistics } from '../planner-statistics';
import { TransactionsRepository } from '../transactions.repository';
import { inactiveOwner, TransactionsService } from '../transactions.service';
import { csvUpload, type UploadLimits } from './csv-source';
import { readImportRows } from './import-rows';
import { type ImportRow, ImportsRepository } from './imports.repository';
import { CopyWriter } from './copy-writer';
import { OrderedIds } from './ordered-ids';

export const IMPORT_JOB = 'csv-import';
// How often a running import writes its progress (rows read) for GET /imports/:id.
const PROGRESS_EVERY_MS = 250;

export const importPath = (id: string) => `/api/v1/imports/${id}`;

/**
 * `POST /transactions/import?async=true`: the upload is checked as it arrives (size, UTF-8, not
 * binary) and stored with a queued import in one transaction that also enqueues its job; any
 * instance then runs the same pipeline as the synchronous import (readImportRows streaming into
 * one COPY, the audit entry, the event), with the same all-or-nothing rule: the rows, the audit
 * entry, the event and the `succeeded` status commit together, or nothing does.
 */
@Injectable()
export class ImportJobsService implements OnModuleInit {
  private readonly logger = new Logger(ImportJobsService.name);
  private readonly upload: UploadLimits;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly imports: ImportsRepository,
    private readonly transactions: TransactionsService,
    private readonly repo: TransactionsRepository,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly jobs: JobQueue,
    private readonly statistics: PlannerStatistics,
    config: AppConfig,
  ) {
    this.upload = { maxBytes: config.importMaxBytes, idleTimeoutMs: config.csvIdleTimeoutMs };
  }

  onModuleInit(): void {
    this.jobs.define<{ importId: string }>({
      name: IMPORT_JOB,
      expireInSeconds: 3600,
      retryLimit: 3,
      concurrency: 1,
      pollingIntervalSeconds: 1,
      handler: (data, job) => this.run(data.importId, job.lastTry),
    });
  }

  async enqueue(actor: User, q: ImportQueryDto, req: IncomingMessage): Promise<ImportJobResponse> {
    if (q.dryRun === true)
      throw validationProblem(
        [{ field: 'async', message: 'a dry run answers at once; drop async' }],
        'dryRun and async cannot be combined',
      );
    if (req.headers['idempotency-key'] !== undefined)
      throw validationProblem(
        [{ field: 'Idempotency-Key', message: 'poll the import resource instead of retrying' }],
        'Idempotency-Key is not supported with async',
      );
    const ownerId = writeOwner(actor, q.ownerId);
    await this.transactions.assertActiveOwner(ownerId);
    const text = await csvUpload(req, this.upload);
    const chunks: Buffer[] = [];
    for await (const chunk of text) chunks.push(Buffer.from(chunk as string, 'utf8'));
    const row = await inTransaction(this.db, async (m) => {
      const created = await this.imports.insert(m, {
        requestedBy: actor.id,
        ownerId,
        mode: q.mode ?? 'all',
        content: Buffer.concat(chunks),
      });
      await this.jobs.send(IMPORT_JOB, { importId: created.id }, { db: m });
      return created;
    });
    this.jobs.wake(IMPORT_JOB);
    return toResponse(row);
  }

  /** The caller's own import (organisation readers: anyone's); someone else's is not found. */
  async get(actor: User, id: string): Promise<ImportJobResponse> {
    const row = await this.imports.find(id, ownRowsOf(actor));
    if (!row) throw new NotFoundException('Import not found');
    return toResponse(row);
  }

  /**
   * The job: one import, start to finish, in two passes over the stored file. The first validates
   * every row and reports progress (rowsRead) as it goes, holding no connection; the second, in one
   * transaction, streams the rows into the COPY as the synchronous import does (parse and insert
   * overlap, ascending ids) with the audit entry, the event and the `succeeded` status.
   */
  async run(importId: string, lastTry = true): Promise<void> {
    const job = await this.imports.start(importId);
    if (!job) return; // finished already (a duplicate or a late retry)
    const partial = job.mode === 'partial';
    const file = () => Readable.from([job.content.toString('utf8')]);
    let rowsRead = 0;
    let reported = Date.now();
    try {
      const booking = await this.transactions.importBooking(job.ownerId);
      const read = await readImportRows(
        file(),
        partial,
        booking,
        () => Promise.resolve(),
        (n) => {
          rowsRead = n;
          if (Date.now() - reported >= PROGRESS_EVERY_MS) {
            reported = Date.now();
            void this.imports.progress(importId, n).catch(() => undefined);
          }
        },
      );
      if (!partial && read.skipped > 0) {
        await this.fail(
          importId,
          rowsRead,
          read.skipped,
          read.errors,
          `${read.skipped} row(s) are invalid; nothing was imported`,
        );
        return;
      }
      await inClientTransaction(this.db, 'BEGIN', async (client) => {
        // The owner may have been erased or deactivated since the import was queued: then it
        // fails with nothing written (a 4xx below: not retried).
        if (!(await this.repo.lockActiveOwner(client, job.ownerId))) throw inactiveOwner();
        const copy = new CopyWriter(() => this.repo.copyIn(client));
        const ids = new OrderedIds();
        try {
          await readImportRows(file(), partial, booking, ({ row, money }) =>
            copy.write([
              ids.next(),
              job.ownerId,
              money.accountId,
              row.type,
              money.amount,
              money.currency,
              row.category,
              row.date,
              row.notes ?? null,
            ]),
          );
        } catch (error) {
          await copy.abort();
          throw error;
        }
        await copy.finish();
        const changes = {
          ownerId: job.ownerId,
          imported: read.imported,
          skipped: read.skipped,
          mode: job.mode,
        };
        await this.audit.record(client, {
          actorId: job.requestedBy,
          action: 'transaction.import',
          entityType: 'transaction',
          entityId: null,
          changes: { ...changes, importId },
        });
        await this.events.record(client, {
          type: 'transactions.imported',
          actorId: job.requestedBy,
          data: changes,
        });
        await this.imports.finish(client, importId, {
          status: 'succeeded',
          rowsRead,
          rowsImported: read.imported,
          skipped: read.skipped,
          errors: read.errors,
          detail: null,
        });
      });
      // In the job, after its commit: the import is already reported as succeeded.
      await this.statistics
        .refresh(read.imported)
        .catch((error: unknown) =>
          this.logger.warn(`ANALYZE after import ${importId}: ${String(error)}`),
        );
    } catch (error) {
      // A bad file (header, not CSV) is the import's failure, not the job's: it is not retried.
      if (error instanceof HttpException && error.getStatus() < 500) {
        const body = error.getResponse() as { message?: string; errors?: ImportRowError[] };
        await this.fail(importId, rowsRead, 0, body.errors ?? [], body.message ?? error.message);
        return;
      }
      this.logger.warn(`import ${importId} failed: ${String(error)}`);
      // The queue retries it from the start; after the last try it must not stay "running".
      if (lastTry)
        await this.fail(
          importId,
          rowsRead,
          0,
          [],
          'the import could not be completed; nothing was imported',
        ).catch(() => undefined);
      throw error;
    }
  }

  private fail(
    importId: string,
    rowsRead: number,
    skipped: number,
    errors: ImportRowError[],
    detail: string,
  ): Promise<void> {
    return this.imports.finish(this.db, importId, {
      status: 'failed',
      rowsRead,
      rowsImported: 0,
      skipped,
      errors,
      detail,
    });
  }
}

function toResponse(row: ImportRow): ImportJobResponse {
  return {
    id: row.id,
    status: row.status,
    ownerId: row.ownerId,
    mode: row.mode,
    rowsRead: row.rowsRead,
    rowsImported: row.rowsImported,
    skipped: row.skipped,
    errors: row.errors,
    detail: row.detail,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}
