import { Transform } from 'node:stream';
import { type Stringifier, stringify } from 'csv-stringify';
import { type Actor, maskTransaction, masksOthersNotes } from '../../common/access';

export const EXPORT_COLUMNS = [
  'id',
  'date',
  'type',
  'amount',
  'currency',
  'category',
  'notes',
  'ownerId',
  'accountId',
  'createdAt',
] as const;

/**
 * A spreadsheet would run a cell starting with one of these as a formula (CSV injection), so the
 * export puts a `'` in front; a cell that already starts with `'` gets one too, so that the import
 * can remove exactly one again (restoreFormula) and every export re-imports to the same values
 * (docs/api.md section 6).
 */
const FORMULA_START = /^[=+\-@\t\r']/;
const GUARDED = /^'[=+\-@\t\r']/;
export const neutraliseFormula = (value: string) =>
  FORMULA_START.test(value) ? `'${value}` : value;
/** The import's inverse of neutraliseFormula: the guard does not count towards a field's length. */
export const restoreFormula = (cell: string) => (GUARDED.test(cell) ? cell.slice(1) : cell);

/** The export's CSV formatter: header line, RFC 4180 quoting, CRLF, formula cells neutralised. */
export function exportFormatter(): Stringifier {
  return stringify({
    header: true,
    columns: [...EXPORT_COLUMNS],
    record_delimiter: 'windows', // CRLF, as RFC 4180 has it
    // Naming a record delimiter turns this off by default, and a bare LF or CR inside a field
    // would then go out unquoted and split the record for every reader.
    quote_record_delimiter: true,
    cast: { string: neutraliseFormula, date: (d) => d.toISOString() },
  });
}

/**
 * The rows as `reader` may see them (the masking policy of access.ts); undefined when nothing can
 * be masked: the reader sees everything, or only its own rows.
 */
export function maskedRows(reader: Actor): Transform | undefined {
  if (!masksOthersNotes(reader)) return undefined;
  return new Transform({
    objectMode: true,
    transform(row: { ownerId: string; notes: string | null }, _encoding, done) {
      done(null, maskTransaction(reader, row));
    },
  });
}
