import fc from 'fast-check';
import { useBaseCurrency } from '../../common/currencies';
import { validatePlain } from '../../common/validation';
import { CreateTransactionDto } from '../dto/create-transaction.dto';
import { plainlyValidRow } from './plain-row';

/** A good cell most of the time, else one near or across a rule's edge. */
const mostly = <T>(good: fc.Arbitrary<T>, edge: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: edge, weight: 1 });

/** Cells near and across every rule's edge, so both sides of each check are drawn often. */
const cell = {
  type: mostly(fc.constantFrom('income', 'expense'), fc.constantFrom('Expense', 'transfer', '')),
  amount: mostly(
    fc.stringMatching(/^\d{1,13}(\.\d{0,4})?$/),
    fc.constantFrom('0', '0.00', '1', '12.5', '1.005', '100.0', '-3', '1e3', ' 5', ''),
  ),
  currency: fc.constantFrom(undefined, 'USD', 'JPY', 'KWD', 'EUR', 'usd', 'XXX', 'ZZZ'),
  accountId: fc.constantFrom(
    undefined,
    '0192d3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d',
    'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    'not-a-uuid',
  ),
  category: fc.oneof(
    fc.constantFrom('Rent', '  Rent ', '', '   ', 'é'.repeat(64), '😀'.repeat(33), 'x'.repeat(65)),
    fc.string({ maxLength: 70 }),
  ),
  date: mostly(
    fc
      .date({ min: new Date('1890-01-01'), max: new Date('3010-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    fc.oneof(
      fc.constantFrom('2023-02-29', '1899-12-31', '1900-01-01', '2999-12-31', '3000-01-01'),
      fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    ),
  ),
  notes: fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('x'.repeat(1000), 'x'.repeat(1001), '😀'.repeat(600)),
  ),
};

const row = fc.record(cell).map((r) => {
  // An import leaves empty optional cells out, as the reader does.
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (v !== undefined) plain[k] = v;
  return plain;
});

describe('plainlyValidRow', () => {
  beforeAll(() => useBaseCurrency('USD'));

  it('accepts only rows the DTO accepts, with the same fields', () => {
    let accepted = 0;
    fc.assert(
      fc.property(row, (plain) => {
        const fast = plainlyValidRow(plain);
        if (!fast) return;
        accepted++;
        const { value, errors } = validatePlain(CreateTransactionDto, plain);
        expect(errors).toEqual([]);
        expect(fast).toBeInstanceOf(CreateTransactionDto);
        expect({ ...fast }).toEqual({ ...value });
      }),
      { numRuns: 5000, seed: 20261205 },
    );
    // Not vacuous: a good share of the drawn rows took the fast path.
    expect(accepted).toBeGreaterThan(100);
  });

  it('takes the fast path for the rows an ordinary import is made of', () => {
    const typical: Record<string, string>[] = [
      { type: 'expense', amount: '12.50', category: ' Groceries ', date: '2026-03-14' },
      { type: 'income', amount: '1200', currency: 'JPY', category: 'Salary', date: '2024-02-29' },
      { type: 'expense', amount: '9.99', category: 'Rent', date: '2025-01-01', notes: 'a note' },
    ];
    for (const plain of typical) expect(plainlyValidRow(plain)).toBeDefined();
  });
});
