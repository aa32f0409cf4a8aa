import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { writeOwner } from '../../common/access';
import { type HeldClaim, IdempotencyService } from '../../idempotency/idempotency.service';
import { AppConfig } from '../../config/app-config';
import { EventsService } from '../../events/events.service';
import { Slots } from '../../common/slots';
import { ReadRouting } from '../../database/replicas/read-routing';
import { inClientTransaction } from '../../database/transaction';
import type { User } from '../../users/entities/user.entity';
import type { ImportQueryDto, ImportResultResponse } from '../dto/import-query.dto';
import type { TransactionFiltersDto } from '../dto/list-transactions.dto';
import type { ResolvedFilters } from '../transaction-list.repository';
import { TransactionListService } from '../transaction-list.service';
import { PlannerStatistics } from '../planner-statistics';
import { TransactionsRepository } from '../transactions.repository';
import { inactiveOwner, TransactionsService } from '../transactions.service';
import { csvUpload, type UploadLimits } from './csv-source';
import { exportFormatter, maskedRows } from './export-format';
import { keyedUpload } from './keyed-upload';
import { OrderedIds } from './ordered-ids';
import { CopyWriter } from './copy-writer';
import { readImportRows, type RowsRead } from './import-rows';
import { Spool } from './spool';

// Seconds a client turned away by a CSV limit is asked to wait.
const IMPORT_RETRY_AFTER = 5;

type ImportOutcome = ImportResultResponse & { dryRun: boolean; replayed?: boolean };

@Injectable()
export class TransactionsCsvService implements OnApplicationBootstrap {
  private readonly logger = new Logger(TransactionsCsvService.name);
  private readonly holdingConnections: Slots;
  private readonly receiving: Slots;
  private readonly upload: UploadLimits;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly transactions: TransactionsService,
    private readonly lists: TransactionListService,
    private readonly repo: TransactionsRepository,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly keys: IdempotencyService,
    private readonly reads: ReadRouting,
    private readonly statistics: PlannerStatistics,
    config: AppConfig,
  ) {
    // A writing import or a streaming export holds a connection; at least one is left for
    // everyone else. Uploads being received hold no connection but a spool file of up to about
    // IMPORT_MAX_BYTES (the upload as received), so they are bounded too (temp disk: docs/operations.md).
    const size = Math.min(config.importConcurrency, Math.max(1, config.dbPoolMax - 1));
    // One budget for both: together they must leave a connection for everyone else.
    this.holdingConnections = new Slots(
      size,
      'import(s) or export(s) are using the database',
      IMPORT_RETRY_AFTER,
    );
    this.receiving = new Slots(
      2 * config.importConcurrency,
      'upload(s) are being received',
      IMPORT_RETRY_AFTER,
    );
    this.upload = { maxBytes: config.importMaxBytes, idleTimeoutMs: config.csvIdleTimeoutMs };
  }

  onApplicationBootstrap(): void {
    void Spool.sweepOrphans(this.logger);
  }

  /**
   * Streams the filtered rows from a server-side cursor through the CSV formatter into the
   * response, so memory stays flat however many rows match. One read-only snapshot throughout.
   */
  async export(actor: User, filters: TransactionFiltersDto, res: ServerResponse): Promise<void> {
    const resolved = this.lists.resolveFilters(actor, filters);
    await this.holdingConnections.run(() => this.stream(actor, resolved, filters, res));
  }

  /**
   * A client that stops reading would hold the snapshot's connection for as long as it keeps the
   * socket open; with no write progress for CSV_IDLE_TIMEOUT_MS the response is cut off instead.
   */
  private async stream(
    reader: User,
    resolved: ResolvedFilters,
    filters: TransactionFiltersDto,
    res: ServerResponse,
  ): Promise<void> {
    res.setTimeout(this.upload.idleTimeoutMs, () =>
      res.destroy(new Error('the client stopped reading the export')),
    );
    try {
      await this.reads.readSnapshot(async (client) => {
        const rows = this.repo.exportRows(client, resolved, filters.sort ?? '-date');
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.setHeader(
          'Content-Disposition',
          `attachment; filename="transactions-${new Date().toISOString().slice(0, 10)}.csv"`,
        );
        const mask = maskedRows(reader);
        await (mask
          ? pipeline(rows, mask, exportFormatter(), res)
          : pipeline(rows, exportFormatter(), res));
      });
    } catch (error) {
      if (!res.headersSent) {
        res.removeHeader('Content-Disposition');
        throw error;
      }
      res.destroy(error as Error);
    } finally {
      // The idle timer is the socket's: a kept-alive connection must not inherit it.
      res.socket?.setTimeout(0);
    }
  }

  /**
   * With `Idempotency-Key` (not on dry runs), replayed or claimed as keyedUpload() says.
   */
  async import(
    actor: User,
    q: ImportQueryDto,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<ImportOutcome> {
    const header = req.headers['idempotency-key'];
    if (header === undefined || q.dryRun === true) return this.importFile(actor, q, req);
    const keyed = {
      actorId: actor.id,
      header,
      req,
      res,
      limits: this.upload,
      hash: () => requestHash(q),
    };
    const outcome = await keyedUpload(this.keys, keyed, (claim) =>
      this.importFile(actor, q, req, claim),
    );
    return outcome.replayed
      ? { ...(outcome.body as ImportResultResponse), dryRun: false, replayed: true }
      : outcome.result;
  }

  /**
   * Receives the whole upload into a temporary file first, holding no connection (a slow or
   * stalled upload takes none); only then takes a connection (and one of the instance's import
   * slots) and, in one transaction, parses and validates the file while its rows stream into one
   * COPY, then writes the audit entry and the Idempotency-Key's response. Parsing in Node and
   * inserting in PostgreSQL overlap. A bad row in `all` mode cancels the COPY and rolls back, so
   * nothing is ever half-written; a dry run parses the upload as it arrives and writes nothing.
   */
  private async importFile(
    actor: User,
    q: ImportQueryDto,
    req: IncomingMessage,
    claim?: HeldClaim,
  ): Promise<ImportOutcome> {
    const ownerId = writeOwner(actor, q.ownerId);
    await this.transactions.assertActiveOwner(ownerId);
    return this.receiving.run(() => this.readAndWrite(actor, ownerId, q, req, claim));
  }

  private async readAndWrite(
    actor: User,
    ownerId: string,
    q: ImportQueryDto,
    req: IncomingMessage,
    claim?: HeldClaim,
  ): Promise<ImportOutcome> {
    const partial = q.mode === 'partial';
    const hash = requestHash(q);
    const text = await csvUpload(req, this.upload, hash);
    const booking = await this.transactions.importBooking(ownerId);
    if (q.dryRun === true) {
      const read = await readImportRows(text, partial, booking, () => Promise.resolve());
      return { ...importResult(read, partial, true), dryRun: true };
    }
    const spool = new Spool();
    try {
      await spool.receive(text);
      const outcome = await this.holdingConnections.run(() =>
        inClientTransaction(this.db, 'BEGIN', async (client) => {
          // Checked before the upload; the owner may have been erased while it arrived.
          if (!(await this.repo.lockActiveOwner(client, ownerId))) throw inactiveOwner();
          const copy = new CopyWriter(() => this.repo.copyIn(client));
          const ids = new OrderedIds();
          let result: ImportResultResponse;
          try {
            const read = await readImportRows(spool.read(), partial, booking, ({ row, money }) =>
              copy.write([
                ids.next(),
                ownerId,
                money.accountId,
                row.type,
                money.amount,
                money.currency,
                row.category,
                row.date,
                row.notes ?? null,
              ]),
            );
            result = importResult(read, partial);
          } catch (error) {
            await copy.abort();
            throw error;
          }
          await copy.finish();
          await this.audit.record(client, {
            actorId: actor.id,
            action: 'transaction.import',
            entityType: 'transaction',
            entityId: null,
            changes: {
              ownerId,
              imported: result.imported,
              skipped: result.skipped,
              mode: partial ? 'partial' : 'all',
            },
          });
          await this.events.record(client, {
            type: 'transactions.imported',
            actorId: actor.id,
            data: {
              ownerId,
              imported: result.imported,
              skipped: result.skipped,
              mode: partial ? 'partial' : 'all',
            },
          });
          if (claim) {
            await this.keys.complete(client, claim, hash.digest('hex'), {
              status: 201,
              body: result,
              location: null,
            });
          }
          return { ...result, dryRun: false };
        }),
      );
      this.statistics.afterBulkWrite(outcome.imported);
      return outcome;
    } finally {
      await spool.dispose();
    }
  }
}

/**
 * The response for the rows read; in `all` mode a bad row makes it a 422 (imported 0 on a dry
 * run, which reports instead of refusing).
 */
function importResult(read: RowsRead, partial: boolean, dryRun = false): ImportResultResponse {
  const failed = !partial && read.skipped > 0;
  if (failed && !dryRun) {
    throw new UnprocessableEntityException({
      message: `${read.skipped} row(s) are invalid; nothing was imported`,
      errors: read.errors,
    });
  }
  return { imported: failed ? 0 : read.imported, skipped: read.skipped, errors: read.errors };
}

/**
 * What an import's Idempotency-Key stands for: the file's bytes (fed in while it is read) and the
 * parameters that change what the import does with them.
 */
function requestHash(q: ImportQueryDto): Hash {
  return createHash('sha256').update(
    `${JSON.stringify([q.ownerId?.toLowerCase() ?? null, q.mode ?? 'all'])}\n`,
  );
}
