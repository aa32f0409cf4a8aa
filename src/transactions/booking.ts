import { UnprocessableEntityException } from '@nestjs/common';
import type { BookingAccount } from '../accounts/accounts.repository';
import { minorUnits, minorUnitsRule } from '../common/currencies';
import { fitsMinorUnits, formatMoney, keepsValueIn } from '../common/money';
import type { FieldIssue } from '../common/problem';
import { validationProblem } from '../common/validation';

/**
 * The money rules of one transaction as it is written (docs/api.md, "Currencies"): which currency
 * it is in, whether its account may take it, and whether its amount fits the currency's minor
 * units. Pure, so the create, the update, both imports and the batch judge a row the same way.
 */
export interface BookingInput {
  ownerId: string;
  amount: string;
  /** The amount is the stored one (an update that does not send it): it must keep its value. */
  amountStored?: boolean;
  /** Sent explicitly; undefined: the account's, else the base currency. */
  currency?: string;
  accountId: string | null;
}

export interface Booked {
  /** At exactly the currency's minor units, as stored. */
  amount: string;
  currency: string;
  accountId: string | null;
}

export interface BookingIssues {
  /** Malformed for the currency: a 400. */
  invalid: FieldIssue[];
  /** Well-formed, but the account cannot take it: a 422. */
  unprocessable: FieldIssue[];
}

/**
 * `account` is the row `input.accountId` names (undefined when it names none that exists).
 * Returns the booked money, or the issues that refuse it.
 */
export function book(
  input: BookingInput,
  account: BookingAccount | undefined,
  baseCurrency: string,
): Booked | BookingIssues {
  const issues: BookingIssues = { invalid: [], unprocessable: [] };
  const usable = input.accountId !== null && account?.ownerId === input.ownerId;
  if (input.accountId !== null && !usable) {
    issues.unprocessable.push({
      field: 'accountId',
      message: "accountId must name an account of the transaction's owner",
    });
  } else if (usable && account.archived) {
    issues.unprocessable.push({ field: 'accountId', message: 'the account is archived' });
  }
  const currency = input.currency ?? (usable ? account.currency : baseCurrency);
  if (usable && account.currency !== currency) {
    issues.unprocessable.push({
      field: 'currency',
      message: `currency must be the account's currency (${account.currency})`,
    });
  }
  const units = minorUnits(currency);
  const fits = input.amountStored
    ? keepsValueIn(input.amount, units)
    : fitsMinorUnits(input.amount, units);
  if (!fits)
    issues.invalid.push({ field: 'amount', message: amountMessage(currency, units, input) });
  if (issues.invalid.length > 0 || issues.unprocessable.length > 0) return issues;
  return { amount: formatMoney(input.amount, units), currency, accountId: input.accountId };
}

export const isBooked = (result: Booked | BookingIssues): result is Booked => 'currency' in result;

/** The booking or the problem to answer: 400 before 422, as validation comes before the rules. */
export function bookedOrThrow(result: Booked | BookingIssues): Booked {
  if (isBooked(result)) return result;
  if (result.invalid.length > 0) throw validationProblem(result.invalid);
  throw new UnprocessableEntityException({
    message: result.unprocessable.map((i) => i.message).join('; '),
    errors: result.unprocessable,
  });
}

function amountMessage(currency: string, units: number, input: BookingInput): string {
  const rule = minorUnitsRule(currency, units);
  return input.amountStored ? `${rule}; send the amount with the new currency` : `amount: ${rule}`;
}
