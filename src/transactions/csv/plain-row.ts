import { isUUID } from 'class-validator';
import { isCurrencyCode, minorUnits } from '../../common/currencies';
import { isCalendarDate } from '../../common/dates';
import { fitsMinorUnits, isPositiveMoney, parseMoney } from '../../common/money';
import { currencyOf } from '../../common/validators';
import { CreateTransactionDto } from '../dto/create-transaction.dto';
import { TRANSACTION_TYPES } from '../entities/transaction.entity';

const TYPES: readonly string[] = TRANSACTION_TYPES;

/**
 * An import row's fields as CreateTransactionDto's rules would accept and transform them, built
 * without class-transformer and class-validator: they were about a quarter of the app's CPU per
 * imported row (docs/performance.md, "CSV import and export"). Undefined whenever any field is
 * not plainly valid; the caller then runs the DTO's own validation, which alone words the 400s.
 * So this may refuse what the DTO accepts, never the other way round (plain-row.spec.ts checks
 * both against each other on generated rows).
 *
 * `plain` holds only the columns an import reads, each a string (empty optional cells left out).
 */
export function plainlyValidRow(plain: Record<string, string>): CreateTransactionDto | undefined {
  const { type, amount, currency, accountId, category, date, notes } = plain;
  if (!TYPES.includes(type) || !isCalendarDate(date)) return undefined;
  if (currency !== undefined && !isCurrencyCode(currency)) return undefined;
  if (accountId !== undefined && !isUUID(accountId)) return undefined;
  if (parseMoney(amount) === undefined || !isPositiveMoney(amount)) return undefined;
  const judgedBy = currencyOf({ currency, accountId }, true);
  if (judgedBy !== undefined && !fitsMinorUnits(amount, minorUnits(judgedBy))) return undefined;
  const trimmed = category?.trim();
  // UTF-16 length bounds the code point count from above, and is 0 only for the empty string.
  if (trimmed === undefined || trimmed.length === 0 || trimmed.length > 64) return undefined;
  if (notes !== undefined && notes.length > 1000) return undefined;
  const row = new CreateTransactionDto();
  row.type = type as CreateTransactionDto['type'];
  row.amount = amount;
  row.category = trimmed;
  row.date = date;
  if (currency !== undefined) row.currency = currency;
  if (accountId !== undefined) row.accountId = accountId;
  if (notes !== undefined) row.notes = notes;
  return row;
}
