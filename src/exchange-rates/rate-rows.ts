import { UnprocessableEntityException } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { validatePlain } from '../common/validation';
import { checkCsvHeader, csvRecords, MAX_REPORTED_ERRORS } from '../transactions/csv/csv-records';
import type { ImportRowError } from '../transactions/dto/import-query.dto';
import type { ExchangeRateKeyDto } from './dto/exchange-rate-key.dto';
import { ExchangeRateRowDto } from './dto/set-exchange-rate.dto';
import { normaliseRate } from './rate';

const COLUMNS = {
  known: ['base', 'quote', 'date', 'rate'],
  required: ['base', 'quote', 'date', 'rate'],
  expected: 'The header must name the columns base,quote,date,rate (any order, any case)',
};

export type RateRow = ExchangeRateKeyDto & { rate: string };

export interface RateRowsRead {
  /** Data rows in the file. */
  read: number;
  /** The first 100 problems of the bad rows. */
  errors: ImportRowError[];
  /** Rows with at least one problem. */
  bad: number;
}

/** Whether a pair names two currencies; the 400 or the row error names `quote`. */
export const samePairIssue = (key: { base: string; quote: string }) =>
  key.base === key.quote ? { field: 'quote', message: 'quote must differ from base' } : undefined;

/**
 * Parses an exchange-rate CSV (header base,quote,date,rate in any order and case) as it is read
 * and judges every data row by PUT's rules. Good rows go to `accept` (rate normalised, with their
 * ordinal in the file) until the first bad row, after which nothing will be written and the rest
 * is read only to report; memory stays flat however long the file. Needs no database.
 */
export async function readRateRows(
  text: Readable,
  accept: (row: RateRow, ordinal: number) => Promise<void>,
): Promise<RateRowsRead> {
  let header: string[] | undefined;
  const result: RateRowsRead = { read: 0, errors: [], bad: 0 };
  try {
    for await (const { line, record } of csvRecords(text)) {
      if (!header) {
        header = checkCsvHeader(record, COLUMNS);
        continue;
      }
      result.read++;
      const { row, issues } = judge(header, record);
      if (issues.length > 0) {
        result.bad++;
        for (const issue of issues)
          if (result.errors.length < MAX_REPORTED_ERRORS)
            result.errors.push({ row: line, ...issue });
        continue;
      }
      if (result.bad === 0) {
        const rate = normaliseRate(row.rate);
        await accept({ base: row.base, quote: row.quote, date: row.date, rate }, result.read);
      }
    }
  } catch (error) {
    text.destroy();
    throw error;
  }
  if (!header)
    throw new UnprocessableEntityException(
      'The file is empty; expected a header line base,quote,date,rate',
    );
  if (result.read === 0)
    throw new UnprocessableEntityException('The file has a header but no data rows');
  return result;
}

/** A data row by PUT's rules: the path's (currencies, date, a pair of two) and the body's. */
function judge(
  header: string[],
  record: string[],
): { row: ExchangeRateRowDto; issues: { field: string; message: string }[] } {
  if (record.length !== header.length) {
    return {
      row: new ExchangeRateRowDto(),
      issues: [
        { field: 'row', message: `expected ${header.length} fields, found ${record.length}` },
      ],
    };
  }
  const plain = Object.fromEntries(header.map((column, i) => [column, record[i]]));
  const { value, errors } = validatePlain(ExchangeRateRowDto, plain);
  // In column order (the DTO lists its own field before the inherited ones); sort is stable.
  const rank = (field: string) => COLUMNS.known.indexOf(field);
  if (errors.length > 0)
    return { row: value, issues: errors.sort((a, b) => rank(a.field) - rank(b.field)) };
  const same = samePairIssue(value);
  return { row: value, issues: same ? [same] : [] };
}
