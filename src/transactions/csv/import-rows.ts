import { UnprocessableEntityException } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { validatePlain } from '../../common/validation';
import { type Booked, isBooked } from '../booking';
import { CreateTransactionDto } from '../dto/create-transaction.dto';
import type { ImportRowError } from '../dto/import-query.dto';
import type { ImportBooking } from '../transactions.service';
import { checkCsvHeader, csvRecords, MAX_REPORTED_ERRORS } from './csv-records';
import { restoreFormula } from './export-format';
import { plainlyValidRow } from './plain-row';

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
const IGNORED_COLUMNS = ['id', 'ownerid', 'createdat'];
const COLUMNS = {
  known: [...Object.keys(IMPORT_FIELDS), ...IGNORED_COLUMNS],
  required: IMPORT_REQUIRED,
  expected:
    'The header must name the columns date,type,amount,category and optionally notes, currency, accountId (any order, any case)',
};

/** A row that passed every check: its fields and its money as it will be stored. */
export interface AcceptedRow {
  row: CreateTransactionDto;
  money: Booked;
}

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
  let header: string[] | undefined;
  const result: RowsRead = { imported: 0, skipped: 0, errors: [] };
  try {
    for await (const { line, record } of csvRecords(text)) {
      if (!header) {
        header = checkCsvHeader(record, COLUMNS);
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
    throw error;
  }
  if (!header)
    throw new UnprocessableEntityException(
      'The file is empty; expected a header line date,type,amount,category[,notes,currency,accountId]',
    );
  if (result.imported + result.skipped === 0)
    throw new UnprocessableEntityException('The file has a header but no data rows');
  return result;
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
    if (field && (!OMITTED_WHEN_EMPTY.has(column) || record[i] !== ''))
      plain[field] = restoreFormula(record[i]);
  });
  const plainly = plainlyValidRow(plain);
  const { value, errors } = plainly
    ? { value: plainly, errors: [] }
    : validatePlain(CreateTransactionDto, plain);
  const atLine = (e: { field: string; message: string }) => ({ row: line, ...e });
  if (errors.length > 0) return { value, errors: errors.map(atLine) };
  const money = booking(value);
  if (isBooked(money)) return { value, money, errors: [] };
  return { value, errors: [...money.invalid, ...money.unprocessable].map(atLine) };
}
