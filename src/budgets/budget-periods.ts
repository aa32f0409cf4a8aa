import { addDays, addMonths } from '../common/dates';
import type { FieldIssue } from '../common/problem';
import type { BudgetPeriod } from './entities/budget.entity';

/** One period of a budget: its label (`2026-12`, `2026-Q4`, `2026`) and inclusive dates. */
export interface PeriodRange {
  label: string;
  from: string;
  to: string;
}

const MONTHS: Record<BudgetPeriod, number> = { month: 1, quarter: 3, year: 12 };
const FORMS: Record<BudgetPeriod, { pattern: RegExp; example: string }> = {
  month: { pattern: /^(\d{4})-(0[1-9]|1[0-2])$/, example: '2026-12' },
  quarter: { pattern: /^(\d{4})-Q([1-4])$/, example: '2026-Q4' },
  year: { pattern: /^(\d{4})$/, example: '2026' },
};

function range(period: BudgetPeriod, year: number, firstMonth: number): PeriodRange {
  const from = `${String(year).padStart(4, '0')}-${String(firstMonth).padStart(2, '0')}-01`;
  const to = addDays(addMonths(from, MONTHS[period]), -1);
  const label =
    period === 'month'
      ? from.slice(0, 7)
      : period === 'quarter'
        ? `${from.slice(0, 4)}-Q${(firstMonth + 2) / 3}`
        : from.slice(0, 4);
  return { label, from, to };
}

/** The period of `period` kind that holds the calendar date `date`. */
export function periodOf(period: BudgetPeriod, date: string): PeriodRange {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const first = period === 'month' ? month : period === 'quarter' ? month - ((month - 1) % 3) : 1;
  return range(period, year, first);
}

/**
 * A period label sent by a client, in the form of the budget's period (a monthly budget takes
 * `2026-12`), within the calendar dates the API accepts; anything else is the issue returned.
 */
export function parsePeriod(period: BudgetPeriod, label: string): PeriodRange | FieldIssue {
  const form = FORMS[period];
  const m = form.pattern.exec(label);
  const year = m ? Number(m[1]) : NaN;
  if (!m || year < 1900 || year > 2999) {
    return {
      field: 'period',
      message: `a ${period}ly budget takes a period like ${form.example} (years 1900-2999)`,
    };
  }
  const first = period === 'month' ? Number(m[2]) : period === 'quarter' ? Number(m[2]) * 3 - 2 : 1;
  return range(period, year, first);
}
