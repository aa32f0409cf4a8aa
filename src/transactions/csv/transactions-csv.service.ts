import { Injectable, UnprocessableEntityException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { parse } from 'csv-parse';
import { type Stringifier, stringify } from 'csv-stringify';
import type { Request, Response } from 'express';
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import { DataSource, type QueryRunner } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { IdempotencyService, mismatch } from '../../common/idempotency/idempotency.service';
import { validatePlain } from '../../common/validation';
import { AppConfig } from '../../config/app-config';
import type { User } from '../../users/entities/user.entity';
import { CreateTransactionDto } from '../dto/create-transaction.dto';
import type { ImportQueryDto, ImportResultResponse, ImportRowError } from '../dto/import-query.dto';
import type { TransactionFiltersDto } from '../dto/list-transactions.dto';
import { TransactionsRepository } from '../transactions.repository';
import { TransactionsService } from '../transactions.service';
import { csvUpload } from './csv-source';

export const EXPORT_COLUMNS = [
  'id',
  'date',
  'type',
  'amount',
  'category',
  'notes',
  'ownerId',
  'createdAt',
] as const;
const IMPORT_REQUIRED = ['date', 'type', 'amount', 'category'];
const IMPORT_COLUMNS = new Set([...IMPORT_REQUIRED, 'notes']);
// An export's own bookkeeping columns: accepted and ignored, so an export can be imported as is.
const IGNORED_COLUMNS = new Set(['id', 'ownerid', 'createdat']);
const MAX_REPORTED_ERRORS = 100;

/** A spreadsheet would run a cell starting with one of these as a formula (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
export const neutraliseFormula = (value: string) =>
  FORMULA_START.test(value) ? `'${value}` : value;

@Injectable()
export class TransactionsCsvService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly transactions: TransactionsService,
    private readonly repo: TransactionsRepository,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly keys: IdempotencyService,
  ) {}

  /**
   * Streams the filtered rows from a server-side cursor through the CSV formatter into the
   * response, so memory stays flat however many rows match. One read-only snapshot throughout.
   */
  async export(actor: User, filters: TransactionFiltersDto, res: Response): Promise<void> {
    const resolved = this.transactions.resolveFilters(actor, filters);
    const { sql, params } = this.repo.exportQuery(resolved, filters.sort ?? '-date');
    const runner = this.db.createQueryRunner('slave');
    const client = (await runner.connect()) as PoolClient;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // A long export is many cursor fetches, not one runaway statement.
      await client.query('SET LOCAL statement_timeout = 0');
      const rows = client.query(new QueryStream(sql, params, { batchSize: 2000 }));
      const csv = stringify({
        header: true,
        columns: [...EXPORT_COLUMNS],
        record_delimiter: 'windows', // CRLF, as RFC 4180 has it
        // Naming a record delimiter turns this off by default, and a bare LF or CR inside a field
        // would then go out unquoted and split the record for every reader.
        quote_record_delimiter: true,
        cast: { string: neutraliseFormula, date: (d) => d.toISOString() },
      });
      res.status(200);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="transactions-${new Date().toISOString().slice(0, 10)}.csv"`,
      );
      await pipeline(rows, csv, res);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (!res.headersSent) throw error;
      res.destroy(error as Error);
    } finally {
      await runner.release();
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
      const upload = await csvUpload(req, this.config.importMaxBytes, hash);
      for await (const _chunk of upload); // read it all: the hash is complete at the end
      if (hash.digest('hex') !== claim.hash) throw mismatch();
      return { ...(claim.response.body as ImportResultResponse), dryRun: false, replayed: true };
    }
    try {
      const hasher = createHash('sha256');
      const outcome = await this.importFile(actor, q, req, hasher);
      await this.keys.complete(actor.id, key, hasher.digest('hex'), {
        status: 201,
        body: withoutFlags(outcome),
        location: null,
      });
      return outcome;
    } catch (error) {
      await this.keys.release(actor.id, key);
      throw error;
    }
  }

  /**
   * Parses the upload as it arrives, validates each row with the same DTO rules as
   * POST /transactions, and streams the good rows into COPY inside one transaction. That
   * transaction commits only when the outcome calls for it (never on a dry run, never in `all`
   * mode with a bad row), so nothing is half-written; the rollups move in the same transaction.
   */
  private async importFile(
    actor: User,
    q: ImportQueryDto,
    req: Request,
    hasher?: Hash,
  ): Promise<ImportOutcome> {
    const ownerId = this.transactions.ownerFor(actor, q.ownerId);
    if (!(await this.repo.isActiveUser(ownerId)))
      throw new UnprocessableEntityException('ownerId must reference an active user');
    const dryRun = q.dryRun === true;
    const partial = q.mode === 'partial';
    const text = await csvUpload(req, this.config.importMaxBytes, hasher);

    const writer = dryRun ? undefined : new CopyWriter(this.db, this.repo.copyStatement());
    let imported = 0;
    let skipped = 0;
    const errors: ImportRowError[] = [];
    try {
      const parser = parse({
        bom: true,
        skip_empty_lines: true,
        relax_column_count: true,
        info: true,
      });
      // pipeline, not pipe: it also hands on an error the upload hit before this line ran.
      pipeline(text, parser).catch(() => undefined);
      let header: string[] | undefined;
      let records = 0;
      let breaksInFields = 0;
      for await (const { record, info } of parser as AsyncIterable<{
        record: string[];
        info: { empty_lines: number };
      }>) {
        // The line the record starts on (header = line 1). csv-parse's own `info.lines` gives the
        // record's last line and counts a CRLF inside a quoted field twice, so count here: every
        // earlier record, its line breaks inside quoted fields, and the blank lines skipped.
        const line = 1 + records + breaksInFields + info.empty_lines;
        records++;
        breaksInFields += lineBreaks(record);
        if (!header) {
          header = checkHeader(record);
          continue;
        }
        const row = rowIssues(header, record, line);
        if (row.errors.length > 0) {
          skipped++;
          for (const e of row.errors) if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
          // All-or-nothing: once a row is bad nothing will be written, so stop copying.
          if (!partial) await writer?.abort();
          continue;
        }
        imported++;
        if (partial || skipped === 0) {
          const t = row.value;
          await writer?.write([ownerId, t.type, t.amount, t.category, t.date, t.notes ?? null]);
        }
      }
      if (!header)
        throw new UnprocessableEntityException(
          'The file is empty; expected a header line date,type,amount,category[,notes]',
        );
      if (imported + skipped === 0)
        throw new UnprocessableEntityException('The file has a header but no data rows');
      const failed = !partial && skipped > 0;
      if (failed && !dryRun) {
        throw new UnprocessableEntityException({
          message: `${skipped} row(s) are invalid; nothing was imported`,
          errors,
        });
      }
      const written = failed ? 0 : imported;
      await writer?.commit((client) =>
        this.audit.record(client, {
          actorId: actor.id,
          action: 'transaction.import',
          entityType: 'transaction',
          entityId: null,
          changes: { ownerId, imported: written, skipped, mode: partial ? 'partial' : 'all' },
        }),
      );
      return { imported: written, skipped, errors, dryRun };
    } catch (error) {
      text.destroy();
      throw asCsvError(error);
    } finally {
      await writer?.abort();
    }
  }
}

/**
 * One transaction holding one COPY ... FROM STDIN, opened at the first row to write. Rows go
 * through the CSV formatter (the same RFC 4180 quoting COPY reads); `commit` finishes the COPY
 * and commits, `abort` cancels whatever is open and rolls back.
 */
class CopyWriter {
  private runner?: QueryRunner;
  private client?: PoolClient;
  private sink?: Stringifier;
  private copy?: Writable;
  private done?: Promise<void>;
  private closed = false;

  constructor(
    private readonly db: DataSource,
    private readonly statement: string,
  ) {}

  async write(row: unknown[]): Promise<void> {
    if (this.closed) return;
    if (!this.sink) await this.open();
    if (!this.sink!.write(row)) await Promise.race([once(this.sink!, 'drain'), this.done]);
  }

  /** Finishes the COPY, runs `beforeCommit` (the audit entry) in the same transaction, commits. */
  async commit(beforeCommit: (client: PoolClient) => Promise<void>): Promise<void> {
    if (this.closed) return;
    if (this.sink) {
      this.sink.end();
      await this.done;
    } else {
      await this.begin();
    }
    await beforeCommit(this.client!);
    await this.client!.query('COMMIT');
    await this.close();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    if (this.sink) {
      this.copy!.destroy(new Error('import aborted'));
      await this.done!.catch(() => undefined);
    }
    if (this.client) await this.client.query('ROLLBACK').catch(() => undefined);
    await this.close();
  }

  private async begin(): Promise<void> {
    this.runner = this.db.createQueryRunner('master');
    this.client = (await this.runner.connect()) as PoolClient;
    await this.client.query('BEGIN');
    await this.client.query('SET LOCAL statement_timeout = 0');
  }

  private async open(): Promise<void> {
    await this.begin();
    this.copy = this.client!.query(copyFrom(this.statement));
    this.sink = stringify();
    this.done = pipeline(this.sink, this.copy);
  }

  private async close(): Promise<void> {
    this.closed = true;
    await this.runner?.release();
  }
}

type ImportOutcome = ImportResultResponse & { dryRun: boolean; replayed?: boolean };

function withoutFlags({
  dryRun: _dryRun,
  replayed: _replayed,
  ...result
}: ImportOutcome): ImportResultResponse {
  return result;
}

function checkHeader(record: string[]): string[] {
  const header = record.map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => !IMPORT_COLUMNS.has(h) && !IGNORED_COLUMNS.has(h));
  const missing = IMPORT_REQUIRED.filter((h) => !header.includes(h));
  const duplicate = header.filter((h, i) => header.indexOf(h) !== i);
  const problems = [
    ...unknown.map((h) => ({ row: 1, field: h || '(empty)', message: `unknown column "${h}"` })),
    ...missing.map((h) => ({ row: 1, field: h, message: `missing column "${h}"` })),
    ...duplicate.map((h) => ({ row: 1, field: h, message: `column "${h}" appears twice` })),
  ];
  if (problems.length > 0) {
    throw new UnprocessableEntityException({
      message:
        'The header must name the columns date,type,amount,category and optionally notes (any order, any case)',
      errors: problems,
    });
  }
  return header;
}

function rowIssues(
  header: string[],
  record: string[],
  line: number,
): { value: CreateTransactionDto; errors: ImportRowError[] } {
  if (record.length !== header.length) {
    return {
      value: new CreateTransactionDto(),
      errors: [
        {
          row: line,
          field: 'row',
          message: `expected ${header.length} fields, found ${record.length}`,
        },
      ],
    };
  }
  const plain: Record<string, string> = {};
  header.forEach((column, i) => {
    if (IMPORT_COLUMNS.has(column) && (column !== 'notes' || record[i] !== ''))
      plain[column] = record[i];
  });
  const { value, errors } = validatePlain(CreateTransactionDto, plain);
  return { value, errors: errors.map((e) => ({ row: line, field: e.field, message: e.message })) };
}

/** Line breaks inside a record's (quoted) fields; a CRLF is one. */
function lineBreaks(record: string[]): number {
  let n = 0;
  for (const field of record)
    if (field.includes('\n') || field.includes('\r')) n += field.match(/\r\n|\r|\n/g)?.length ?? 0;
  return n;
}

/** Malformed CSV (an unclosed quote, say) is the client's file, not a server fault. */
function asCsvError(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('CSV_')) {
    return new UnprocessableEntityException(
      `The file is not valid CSV: ${(error as Error).message}`,
    );
  }
  return error;
}
