import type { BookingAccount } from '../accounts/accounts.repository';
import { minorUnits, minorUnitsIssue } from '../common/currencies';
import { formatMoney, ratio, sameMoney } from '../common/money';
import type { FieldIssue } from '../common/problem';

/**
 * The rules of a new transfer (docs/api.md, "Transfers"): two usable accounts of one owner, amounts
 * that fit their accounts' currencies, `toAmount` as the currencies require, and the rate. Pure
 * (no framework), so it is unit-tested on its own; the service turns the issues into problems.
 */

/** Decimals of a transfer's rate. */
export const RATE_DECIMALS = 10;

export interface TransferInput {
  /** The owner the caller is confined to (an analyst: itself); undefined for admins. */
  confinedTo: string | undefined;
  amount: string;
  toAmount?: string;
  date: string;
  notes?: string | null;
}

export interface JudgedTransfer {
  ownerId: string;
  fromAccountId: string;
  toAccountId: string;
  /** At exactly the source currency's minor units. */
  amount: string;
  currency: string;
  /** At exactly the destination currency's minor units. */
  toAmount: string;
  toCurrency: string;
  /** toAmount / amount, half to even, RATE_DECIMALS decimals. */
  rate: string;
  date: string;
  notes: string | null;
}

export interface TransferIssues {
  /** Malformed for the currency: a 400. */
  invalid: FieldIssue[];
  /** Well-formed, but the accounts cannot take it: a 422. */
  unprocessable: FieldIssue[];
}

type Leg = 'fromAccountId' | 'toAccountId';

/**
 * `source` and `target` are the accounts the request names (undefined when none exists). An
 * account outside the caller's confinement gets the same answer as one that does not exist:
 * whether it exists is not the caller's to learn. Account rules come first (without usable
 * accounts there is no currency to judge the amounts by), then 400s, then the `toAmount` rule.
 */
export function judgeTransfer(
  input: TransferInput,
  source: BookingAccount | undefined,
  target: BookingAccount | undefined,
): JudgedTransfer | TransferIssues {
  const refuse = (field: string, message: string): TransferIssues => ({
    invalid: [],
    unprocessable: [{ field, message }],
  });
  if (source && target && source.id === target.id) {
    return refuse('toAccountId', 'toAccountId must be another account than fromAccountId');
  }
  const accountIssues: FieldIssue[] = [];
  const usable = (leg: Leg, account: BookingAccount | undefined): account is BookingAccount => {
    if (!account || (input.confinedTo !== undefined && account.ownerId !== input.confinedTo)) {
      const which = input.confinedTo === undefined ? 'an existing account' : 'one of your accounts';
      accountIssues.push({ field: leg, message: `${leg} must name ${which}` });
      return false;
    }
    if (account.archived) {
      accountIssues.push({ field: leg, message: `${leg} names an archived account` });
      return false;
    }
    return true;
  };
  const sourceOk = usable('fromAccountId', source);
  const targetOk = usable('toAccountId', target);
  if (!sourceOk || !targetOk) return { invalid: [], unprocessable: accountIssues };
  if (source.ownerId !== target.ownerId) {
    return refuse('toAccountId', 'toAccountId must belong to the owner of fromAccountId');
  }

  const fromUnits = minorUnits(source.currency);
  const toUnits = minorUnits(target.currency);
  const invalid = [
    minorUnitsIssue('amount', input.amount, source.currency),
    input.toAmount === undefined
      ? undefined
      : minorUnitsIssue('toAmount', input.toAmount, target.currency),
  ].filter((issue) => issue !== undefined);
  if (invalid.length > 0) return { invalid, unprocessable: [] };

  const amount = formatMoney(input.amount, fromUnits);
  let toAmount: string;
  if (source.currency === target.currency) {
    if (input.toAmount !== undefined && !sameMoney(input.toAmount, input.amount)) {
      return refuse(
        'toAmount',
        `both accounts are in ${source.currency}: omit toAmount or send it equal to amount`,
      );
    }
    toAmount = amount;
  } else {
    if (input.toAmount === undefined) {
      return refuse(
        'toAmount',
        `toAmount (in ${target.currency}) is required when the currencies differ`,
      );
    }
    toAmount = formatMoney(input.toAmount, toUnits);
  }
  const rate = ratio(toAmount, amount, RATE_DECIMALS);
  if (!/[1-9]/.test(rate)) {
    return refuse(
      'toAmount',
      `toAmount / amount must be at least 1e-${RATE_DECIMALS} (the rate is kept to ${RATE_DECIMALS} decimals)`,
    );
  }
  return {
    ownerId: source.ownerId,
    fromAccountId: source.id,
    toAccountId: target.id,
    amount,
    currency: source.currency,
    toAmount,
    toCurrency: target.currency,
    rate,
    date: input.date,
    notes: input.notes ?? null,
  };
}

export const isJudged = (r: JudgedTransfer | TransferIssues): r is JudgedTransfer => 'rate' in r;
