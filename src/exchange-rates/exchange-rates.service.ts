import { Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { IncomingMessage } from 'node:http';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { Actor } from '../common/access';
import { CursorCodec, keysetPage } from '../common/cursor';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { Slots } from '../common/slots';
import { dateRangeIssues, invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { csvUpload, type UploadLimits } from '../transactions/csv/csv-source';
import type { ImportResultResponse } from '../transactions/dto/import-query.dto';
import type { ExchangeRateKeyDto } from './dto/exchange-rate-key.dto';
import type { ExchangeRateListResponse, ExchangeRateResponse } from './dto/exchange-rate.response';
import type { ListExchangeRatesDto } from './dto/list-exchange-rates.dto';
import { type RateKeyset, ExchangeRatesRepository } from './exchange-rates.repository';
import { normaliseRate } from './rate';
import { readRateRows, samePairIssue } from './rate-rows';

// Seconds a client turned away by the import limit is asked to wait.
const IMPORT_RETRY_AFTER = 5;

@Injectable()
export class ExchangeRatesService {
  private readonly cursors: CursorCodec;
  private readonly importing: Slots;
  private readonly upload: UploadLimits;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: ExchangeRatesRepository,
    private readonly audit: AuditService,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'exchange-rates');
    // An import holds its parsed file in memory and then a connection: bounded like the
    // transaction imports (IMPORT_CONCURRENCY per instance), past it a 503 with Retry-After.
    this.importing = new Slots(
      config.importConcurrency,
      'exchange-rate import(s) are',
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

  /**
   * All or nothing: the whole upload is received and every row judged (by PUT's rules) before a
   * connection is taken; any bad row is a 422 listing the first 100 problems and nothing is
   * written. Otherwise every row is upserted in one transaction with one audit entry for the file.
   */
  async import(actor: Actor, req: IncomingMessage): Promise<ImportResultResponse> {
    return this.importing.run(async () => {
      const read = await readRateRows(await csvUpload(req, this.upload));
      if (read.bad > 0) {
        throw new UnprocessableEntityException({
          message: `${read.bad} row(s) are invalid; nothing was imported`,
          errors: read.errors,
        });
      }
      await inTransaction(this.db, async (m) => {
        const { created } = await this.repo.upsertMany(m, read.rows);
        await this.audit.record(m, {
          actorId: actor.id,
          action: 'exchange_rate.set',
          entityType: 'exchange_rate',
          entityId: null,
          // One entry for the file, not one per rate: an import may carry many thousands.
          changes: {
            import: { rows: read.read, created, replaced: read.rows.length - created },
          },
        });
      });
      return { imported: read.read, skipped: 0, errors: [] };
    });
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
