import { UnprocessableEntityException } from '@nestjs/common';
import { parse } from 'csv-parse';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { validatePlain } from '../../common/validation';
import { type Booked, isBooked } from '../booking';
import { CreateTransactionDto } from '../dto/create-transaction.dto';
import type { ImportRowError } from '../dto/import-query.dto';
import type { ImportBooking } from '../transactions.service';

const IMPORT_REQUIRED = ['date', 'type', 'amount', 'category'];
/** Header names (compared in lower case) and the field each fills. */
const IMPORT_FIELDS: Record<string, string> = {
  date: 'date',
  type: 'type',
  amount: 'amount',
  category: 'category',
  notes: 'notes',
  currency: 'currency',
  accountid: 'accountId',
};
// Optional columns whose empty cell means "not given" (the default applies).
const OMITTED_WHEN_EMPTY = new Set(['notes', 'currency', 'accountid']);
// An export's own bookkeeping columns: accepted and ignored, so an export can be imported as is.
const IGNORED_COLUMNS = new Set(['id', 'ownerid', 'createdat']);

/** A row that passed every check: its fields and its money as it will be stored. */
export interface AcceptedRow {
  row: CreateTransactionDto;
  money: Booked;
}
const MAX_REPORTED_ERRORS = 100;

export interface RowsRead {
  /** Good rows (in `all` mode with a bad row: rows that would have been written). */
  imported: number;
  skipped: number;
  errors: ImportRowError[];
}

/**
 * Parses an uploaded CSV as it arrives and validates each row with the same DTO rules as
 * POST /transactions. Good rows go to `accept` as long as they will be written: every good row in
 * `partial` mode, in `all` mode only until the first bad row (after which nothing will be).
 * Needs no database: the caller writes the accepted rows once the whole upload is in.
 */
export async function readImportRows(
  text: Readable,
  partial: boolean,
  booking: ImportBooking,
  accept: (row: AcceptedRow) => Promise<void>,
  /** Called after each data row with the number read so far (a background import's progress). */
  onRow?: (rowsRead: number) => void,
): Promise<RowsRead> {
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, info: true });
  // pipeline, not pipe: it also hands on an error the upload hit before this line ran.
  pipeline(text, parser).catch(() => undefined);
  let header: string[] | undefined;
  let records = 0;
  let breaksInFields = 0;
  const result: RowsRead = { imported: 0, skipped: 0, errors: [] };
  try {
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
      const row = rowIssues(header, record, line, booking);
      if (row.errors.length > 0 || !row.money) {
        result.skipped++;
        for (const e of row.errors)
          if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push(e);
        onRow?.(result.imported + result.skipped);
        continue;
      }
      result.imported++;
      if (partial || result.skipped === 0) await accept({ row: row.value, money: row.money });
      onRow?.(result.imported + result.skipped);
    }
  } catch (error) {
    text.destroy();
    throw asCsvError(error);
  }
  if (!header)
    throw new UnprocessableEntityException(
      'The file is empty; expected a header line date,type,amount,category[,notes,currency,accountId]',
    );
  if (result.imported + result.skipped === 0)
    throw new UnprocessableEntityException('The file has a header but no data rows');
  return result;
}

function checkHeader(record: string[]): string[] {
  const header = record.map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => !(h in IMPORT_FIELDS) && !IGNORED_COLUMNS.has(h));
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
        'The header must name the columns date,type,amount,category and optionally notes, currency, accountId (any order, any case)',
      errors: problems,
    });
  }
  return header;
}

function rowIssues(
  header: string[],
  record: string[],
  line: number,
  booking: ImportBooking,
): { value: CreateTransactionDto; money?: Booked; errors: ImportRowError[] } {
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
    const field = IMPORT_FIELDS[column];
    if (field && (!OMITTED_WHEN_EMPTY.has(column) || record[i] !== '')) plain[field] = record[i];
  });
  const { value, errors } = validatePlain(CreateTransactionDto, plain);
  const atLine = (e: { field: string; message: string }) => ({ row: line, ...e });
  if (errors.length > 0) return { value, errors: errors.map(atLine) };
  const money = booking(value);
  if (isBooked(money)) return { value, money, errors: [] };
  return { value, errors: [...money.invalid, ...money.unprocessable].map(atLine) };
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
