import {
  Injectable,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { writeOwner } from '../../common/access';
import {
  type HeldClaim,
  IdempotencyService,
  mismatch,
} from '../../common/idempotency/idempotency.service';
import { AppConfig } from '../../config/app-config';
import { inClientTransaction } from '../../database/transaction';
import type { User } from '../../users/entities/user.entity';
import type { ImportQueryDto, ImportResultResponse } from '../dto/import-query.dto';
import type { TransactionFiltersDto } from '../dto/list-transactions.dto';
import { TransactionsRepository } from '../transactions.repository';
import { TransactionsService } from '../transactions.service';
import { csvUpload, type UploadLimits } from './csv-source';
import { exportFormatter } from './export-format';
import { readImportRows } from './import-rows';
import { Spool } from './spool';

// Seconds a client turned away by the import limit is asked to wait.
const IMPORT_RETRY_AFTER = '5';

type ImportOutcome = ImportResultResponse & { dryRun: boolean; replayed?: boolean };

@Injectable()
export class TransactionsCsvService {
  private writingImports = 0;
  private readonly importSlots: number;
  private readonly upload: UploadLimits;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly transactions: TransactionsService,
    private readonly repo: TransactionsRepository,
    private readonly audit: AuditService,
    private readonly keys: IdempotencyService,
    config: AppConfig,
  ) {
    // Each writing import holds a connection for its COPY; at least one is left for everyone else.
    this.importSlots = Math.min(config.importConcurrency, Math.max(1, config.dbPoolMax - 1));
    this.upload = { maxBytes: config.importMaxBytes, idleTimeoutMs: config.importIdleTimeoutMs };
  }

  /**
   * Streams the filtered rows from a server-side cursor through the CSV formatter into the
   * response, so memory stays flat however many rows match. One read-only snapshot throughout.
   */
  async export(actor: User, filters: TransactionFiltersDto, res: Response): Promise<void> {
    const resolved = this.transactions.resolveFilters(actor, filters);
    try {
      await inClientTransaction(
        this.db,
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        async (client) => {
          const rows = this.repo.exportRows(client, resolved, filters.sort ?? '-date');
          res.status(200);
          res.setHeader('Content-Type', 'text/csv; charset=utf-8');
          res.setHeader(
            'Content-Disposition',
            `attachment; filename="transactions-${new Date().toISOString().slice(0, 10)}.csv"`,
          );
          await pipeline(rows, exportFormatter(), res);
        },
      );
    } catch (error) {
      if (!res.headersSent) throw error;
      res.destroy(error as Error);
    }
  }

  /**
   * With `Idempotency-Key` (not on dry runs): a finished import with the same key and the same
   * file is replayed without writing; the same key with another file is a 422; one in flight, 409.
   * The file's hash is only known once it is read, so a replay candidate's upload is hashed first.
   */
  async import(actor: User, q: ImportQueryDto, req: Request): Promise<ImportOutcome> {
    const header = req.headers['idempotency-key'];
    if (header === undefined || q.dryRun === true) return this.importFile(actor, q, req);
    const key = IdempotencyService.checkKey(header);
    const claim = await this.keys.claim(actor.id, key, null);
    if (claim.kind === 'replay') {
      const hash = createHash('sha256');
      const upload = await csvUpload(req, this.upload, hash);
      for await (const _chunk of upload); // read it all: the hash is complete at the end
      if (hash.digest('hex') !== claim.hash) throw mismatch();
      return { ...(claim.response.body as ImportResultResponse), dryRun: false, replayed: true };
    }
    const stopRenewing = this.keys.keepAlive(claim.claim);
    try {
      return await this.importFile(actor, q, req, claim.claim);
    } catch (error) {
      await this.keys.release(claim.claim);
      throw error;
    } finally {
      stopRenewing();
    }
  }

  /**
   * Reads and validates the whole upload first, spooling the rows to write to a temporary file;
   * only then takes a connection (and one of the instance's import slots) and writes them with
   * one COPY, the audit entry and the Idempotency-Key's response in one transaction. A slow or
   * stalled upload therefore holds no connection, and nothing is ever half-written.
   */
  private async importFile(
    actor: User,
    q: ImportQueryDto,
    req: Request,
    claim?: HeldClaim,
  ): Promise<ImportOutcome> {
    const ownerId = writeOwner(actor, q.ownerId);
    await this.transactions.assertActiveOwner(ownerId);
    const dryRun = q.dryRun === true;
    const partial = q.mode === 'partial';
    const hash = createHash('sha256');
    const text = await csvUpload(req, this.upload, hash);
    const spool = dryRun ? undefined : new Spool();
    try {
      const read = await readImportRows(text, partial, async (t) =>
        spool?.write([ownerId, t.type, t.amount, t.category, t.date, t.notes ?? null]),
      );
      const failed = !partial && read.skipped > 0;
      if (failed && !dryRun) {
        throw new UnprocessableEntityException({
          message: `${read.skipped} row(s) are invalid; nothing was imported`,
          errors: read.errors,
        });
      }
      const result: ImportResultResponse = {
        imported: failed ? 0 : read.imported,
        skipped: read.skipped,
        errors: read.errors,
      };
      if (!spool) return { ...result, dryRun };
      await spool.finish();
      await this.withImportSlot(() =>
        inClientTransaction(this.db, 'BEGIN', async (client) => {
          if (result.imported > 0) await this.repo.copyFromFile(client, spool.path);
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
          if (claim) {
            await this.keys.complete(client, claim, hash.digest('hex'), {
              status: 201,
              body: result,
              location: null,
            });
          }
        }),
      );
      return { ...result, dryRun };
    } finally {
      await spool?.dispose();
    }
  }

  /** At most `importSlots` imports write at once on this instance; one more is told to retry. */
  private async withImportSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writingImports >= this.importSlots) {
      throw new ServiceUnavailableException({
        message: `${this.importSlots} import(s) are being written on this server; retry shortly`,
        headers: { 'Retry-After': IMPORT_RETRY_AFTER },
      });
    }
    this.writingImports++;
    try {
      return await fn();
    } finally {
      this.writingImports--;
    }
  }
}
