import { UnprocessableEntityException } from '@nestjs/common';
import { parse } from 'csv-parse';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Reading any uploaded CSV (transactions, exchange rates): its records with the line each starts
 * on, the header check every import shares, and the cap on reported row errors.
 */

/** Imports report the problems of at most this many rows (the first ones). */
export const MAX_REPORTED_ERRORS = 100;

export interface CsvRecord {
  /** The line the record starts on; the header is line 1. */
  line: number;
  record: string[];
}

/**
 * Every record ending a file may use, in any mix: a file edited on two systems can have an LF
 * header and CRLF rows. Left to itself, csv-parse takes the first line's ending as the only one,
 * and the CR of every CRLF row then stays in its last field. CRLF comes first so that it counts
 * as one break, not a record and an empty line; line breaks inside quoted fields are data.
 */
const RECORD_DELIMITERS = ['\r\n', '\n', '\r'];

/**
 * The records of a CSV text stream as they are parsed (a BOM and blank lines skipped; a record's
 * field count is the caller's to check). Malformed CSV (an unclosed quote, say) ends it with a 422:
 * the client's file, not a server fault.
 */
export async function* csvRecords(text: Readable): AsyncGenerator<CsvRecord> {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    record_delimiter: RECORD_DELIMITERS,
  });
  // pipeline, not pipe: it also hands on an error the upload hit before this line ran.
  pipeline(text, parser).catch(() => undefined);
  let records = 0;
  let breaksInFields = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { empty_lines: number };
    }>) {
      // csv-parse's own `info.lines` gives the record's last line and counts a CRLF inside a
      // quoted field twice, so count here: every earlier record, its line breaks inside quoted
      // fields, and the blank lines skipped.
      const line = 1 + records + breaksInFields + info.empty_lines;
      records++;
      breaksInFields += lineBreaks(record);
      yield { line, record };
    }
  } catch (error) {
    throw asCsvError(error);
  }
}

export interface CsvColumns {
  /** Every column the import understands (or accepts and ignores), in lower case. */
  known: readonly string[];
  /** The columns that must be present, in lower case. */
  required: readonly string[];
  /** What the header must look like, for the 422's detail. */
  expected: string;
}

/**
 * The header's column names in lower case (order and case are free); an unknown, missing or
 * repeated column is a 422 listing each as an error of row 1.
 */
export function checkCsvHeader(record: string[], columns: CsvColumns): string[] {
  const header = record.map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => !columns.known.includes(h));
  const missing = columns.required.filter((h) => !header.includes(h));
  const duplicate = header.filter((h, i) => header.indexOf(h) !== i);
  const problems = [
    ...unknown.map((h) => ({ row: 1, field: h || '(empty)', message: `unknown column "${h}"` })),
    ...missing.map((h) => ({ row: 1, field: h, message: `missing column "${h}"` })),
    ...duplicate.map((h) => ({ row: 1, field: h, message: `column "${h}" appears twice` })),
  ];
  if (problems.length > 0)
    throw new UnprocessableEntityException({ message: columns.expected, errors: problems });
  return header;
}

/** Line breaks inside a record's (quoted) fields; a CRLF is one. */
function lineBreaks(record: string[]): number {
  let n = 0;
  for (const field of record)
    if (field.includes('\n') || field.includes('\r')) n += field.match(/\r\n|\r|\n/g)?.length ?? 0;
  return n;
}

function asCsvError(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('CSV_')) {
    return new UnprocessableEntityException(
      `The file is not valid CSV: ${(error as Error).message}`,
    );
  }
  return error;
}
