/**
 * The rows the list filters are checked against, in process (test/integration/transactions-list.int-spec.ts)
 * and over HTTP (test/e2e/transactions-list.e2e-spec.ts): each body is a POST /transactions body
 * over the defaults of validTx() (an expense of 12.50 in Food on 2026-03-14).
 */
export const FILTER_ROWS = {
  salary: { type: 'income', category: 'Salary', date: '2026-01-01', amount: '1000.00' },
  lunch: { category: 'Food', date: '2026-01-15', amount: '12.50', notes: 'lunch 50% off' },
  snack: { category: 'FOOD', date: '2026-01-31', amount: '7.25', notes: 'snack_bar' },
  stuff: { category: 'Foodstuff', date: '2026-02-01', amount: '30.00' },
  taxi: {
    category: 'Travel',
    date: '2025-12-31',
    amount: '0.01',
    notes: 'to the FOOD court',
  },
  refund: {
    type: 'income',
    category: 'Refund',
    date: '2026-02-01',
    amount: '12.49',
    notes: '50 percent kebab',
  },
  // Matches most of the filters, but is deleted, so only deleted=include|only may show it.
  gone: { category: 'Food', date: '2026-01-20', amount: '20.00', notes: 'lunch 50% gone' },
} as const;

/** Another analyst's rows that match the same filters: they must never show up in the owner's lists. */
export const RIVAL_ROWS = [
  { category: 'Food', notes: 'lunch 50% off', amount: '12.50' },
  { category: 'food', notes: 'snack_bar', date: '2026-01-31' },
];
