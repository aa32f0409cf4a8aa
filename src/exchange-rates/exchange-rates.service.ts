import { Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { Actor } from '../common/access';
import { CursorCodec, keysetPage } from '../common/cursor';
import { type HeldClaim, IdempotencyService } from '../idempotency/idempotency.service';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { Slots } from '../common/slots';
import { dateRangeIssues, invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { inClientTransaction, inTransaction } from '../database/transaction';
import { CopyWriter } from '../transactions/csv/copy-writer';
import { csvUpload, type UploadLimits } from '../transactions/csv/csv-source';
import { keyedUpload } from '../transactions/csv/keyed-upload';
import { Spool } from '../transactions/csv/spool';
import type { ImportResultResponse } from '../transactions/dto/import-query.dto';
import type { ExchangeRateKeyDto } from './dto/exchange-rate-key.dto';
import type { ExchangeRateListResponse, ExchangeRateResponse } from './dto/exchange-rate.response';
import type { ListExchangeRatesDto } from './dto/list-exchange-rates.dto';
import { type RateKeyset, ExchangeRatesRepository } from './exchange-rates.repository';
import { normaliseRate } from './rate';
import { type RateRowsRead, readRateRows, samePairIssue } from './rate-rows';

// Seconds a client turned away by the import limit is asked to wait.
const IMPORT_RETRY_AFTER = 5;

@Injectable()
export class ExchangeRatesService {
  private readonly cursors: CursorCodec;
  private readonly receiving: Slots;
  private readonly writing: Slots;
  private readonly upload: UploadLimits;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: ExchangeRatesRepository,
    private readonly audit: AuditService,
    private readonly keys: IdempotencyService,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'exchange-rates');
    // Bounded like the transaction imports: uploads being received hold a spool file, writing
    // imports a connection (at least one is left for everyone else); past either, a 503.
    this.receiving = new Slots(
      2 * config.importConcurrency,
      'exchange-rate upload(s) are being received',
      IMPORT_RETRY_AFTER,
    );
    this.writing = new Slots(
      Math.min(config.importConcurrency, Math.max(1, config.dbPoolMax - 1)),
      'exchange-rate import(s) are writing',
      IMPORT_RETRY_AFTER,
    );
    this.upload = { maxBytes: config.importMaxBytes, idleTimeoutMs: config.csvIdleTimeoutMs };
  }

  /**
   * Inserts or replaces the rate, normalised (`"1.50"` → `"1.5"`), with its audit entry in the
   * same transaction; `created` tells a new rate from a replaced one.
   */
  async set(
    actor: Actor,
    key: ExchangeRateKeyDto,
    rate: string,
  ): Promise<{ item: ExchangeRateResponse; created: boolean }> {
    assertPair(key);
    return inTransaction(this.db, async (m) => {
      const { item, before } = await this.repo.upsert(m, key, normaliseRate(rate));
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'exchange_rate.set',
        entityType: 'exchange_rate',
        // The key is three columns, not a uuid: it is in `changes`.
        entityId: null,
        changes: { ...keyOf(item), rate: { before, after: item.rate } },
      });
      return { item, created: before === null };
    });
  }

  async remove(actor: Actor, key: ExchangeRateKeyDto): Promise<void> {
    assertPair(key);
    await inTransaction(this.db, async (m) => {
      const rate = await this.repo.delete(m, key);
      if (rate === undefined) throw new NotFoundException('Exchange rate not found');
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'exchange_rate.delete',
        entityType: 'exchange_rate',
        entityId: null,
        changes: { ...keyOf(key), rate: { before: rate, after: null } },
      });
    });
  }

  async list(q: ListExchangeRatesDto): Promise<ExchangeRateListResponse> {
    const range = dateRangeIssues(q.from, q.to);
    if (range.length > 0) throw validationProblem(range);
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    let after: RateKeyset | undefined;
    if (q.cursor) {
      after = this.cursors.decode<RateKeyset>(q.cursor);
      if (
        !after ||
        typeof after.base !== 'string' ||
        typeof after.quote !== 'string' ||
        typeof after.date !== 'string'
      )
        throw invalidCursor();
    }
    const page = keysetPage(await this.repo.list(q, limit, after), limit, this.cursors, keyOf);
    return { data: page.rows, meta: { limit, nextCursor: page.nextCursor } };
  }

  /** With `Idempotency-Key`, replayed or claimed as keyedUpload() says (`replayed` on a replay). */
  async import(
    actor: Actor,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<ImportResultResponse & { replayed?: boolean }> {
    const header = req.headers['idempotency-key'];
    if (header === undefined) return this.importFile(actor, req);
    const keyed = { actorId: actor.id, header, req, res, limits: this.upload, hash: requestHash };
    const outcome = await keyedUpload(this.keys, keyed, (claim) =>
      this.importFile(actor, req, claim),
    );
    return outcome.replayed
      ? { ...(outcome.body as ImportResultResponse), replayed: true }
      : outcome.result;
  }

  /**
   * All or nothing. The whole upload is received into a temporary file first, holding no
   * connection (a slow upload takes none); then, in one transaction, its rows are parsed and judged
   * by PUT's rules while the good ones stream into a staging table, and merged into the rates with
   * one audit entry for the file (and the Idempotency-Key's response). A bad row cancels the copy;
   * the rest is read to report the first 100 problems, and the 422 rolls everything back.
   */
  private async importFile(
    actor: Actor,
    req: IncomingMessage,
    claim?: HeldClaim,
  ): Promise<ImportResultResponse> {
    return this.receiving.run(async () => {
      const hash = requestHash();
      const spool = new Spool();
      try {
        await spool.receive(await csvUpload(req, this.upload, hash));
        return await this.writing.run(() =>
          inClientTransaction(this.db, 'BEGIN', (client) =>
            this.write(client, actor, spool, hash.digest('hex'), claim),
          ),
        );
      } finally {
        await spool.dispose();
      }
    });
  }

  private async write(
    client: PoolClient,
    actor: Actor,
    spool: Spool,
    hash: string,
    claim?: HeldClaim,
  ): Promise<ImportResultResponse> {
    await this.repo.createStaging(client);
    const copy = new CopyWriter(() => this.repo.copyIn(client));
    let read: RateRowsRead;
    try {
      read = await readRateRows(spool.read(), (row, ordinal) =>
        copy.write([ordinal, row.base, row.quote, row.date, row.rate]),
      );
    } catch (error) {
      await copy.abort();
      throw error;
    }
    if (read.bad > 0) {
      await copy.abort();
      throw new UnprocessableEntityException({
        message: `${read.bad} row(s) are invalid; nothing was imported`,
        errors: read.errors,
      });
    }
    await copy.finish();
    const { written, created } = await this.repo.mergeStaged(client);
    await this.audit.record(client, {
      actorId: actor.id,
      action: 'exchange_rate.set',
      entityType: 'exchange_rate',
      entityId: null,
      // One entry for the file, not one per rate: an import may carry many thousands.
      changes: { import: { rows: read.read, created, replaced: written - created } },
    });
    const result: ImportResultResponse = { imported: read.read, skipped: 0, errors: [] };
    if (claim)
      await this.keys.complete(client, claim, hash, { status: 201, body: result, location: null });
    return result;
  }
}

/** A rate's own currency into itself is no rate (the table refuses it too). */
function assertPair(key: ExchangeRateKeyDto): void {
  const issue = samePairIssue(key);
  if (issue) throw validationProblem([issue]);
}

const keyOf = (k: ExchangeRateKeyDto): RateKeyset => ({
  base: k.base,
  quote: k.quote,
  date: k.date,
});

/**
 * What an import's Idempotency-Key stands for: the file's bytes (fed in while it is read), after a
 * prefix of its own, so a key reused from a transaction import never replays that import's answer.
 */
const requestHash = (): Hash => createHash('sha256').update('exchange-rates\n');
