import type { BookingAccount } from '../accounts/accounts.repository';
import {
  isJudged,
  type JudgedTransfer,
  judgeTransfer as sut,
  type TransferInput,
  type TransferIssues,
} from './transfer-rules';

const OWNER = 'aaaaaaaa-0000-4000-8000-000000000001';
const STRANGER = 'bbbbbbbb-0000-4000-8000-000000000002';

const account = (id: string, currency: string, extra: Partial<BookingAccount> = {}) => ({
  id,
  ownerId: OWNER,
  currency,
  archived: false,
  ...extra,
});
const usd = account('11111111-0000-4000-8000-000000000001', 'USD');
const usd2 = account('11111111-0000-4000-8000-000000000002', 'USD');
const jpy = account('11111111-0000-4000-8000-000000000003', 'JPY');
const kwd = account('11111111-0000-4000-8000-000000000004', 'KWD');

const input = (extra: Partial<TransferInput> = {}): TransferInput => ({
  confinedTo: OWNER,
  amount: '10',
  date: '2026-03-01',
  ...extra,
});

function judged(result: JudgedTransfer | TransferIssues): JudgedTransfer {
  if (!isJudged(result)) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result;
}
const fieldsOf = (result: JudgedTransfer | TransferIssues) =>
  isJudged(result)
    ? { invalid: [], unprocessable: [] }
    : {
        invalid: result.invalid.map((i) => i.field),
        unprocessable: result.unprocessable.map((i) => i.field),
      };

describe('transfer rules', () => {
  it('moves one currency at rate 1, toAmount defaulting to the formatted amount', () => {
    expect(judged(sut(input({ amount: '10.5', notes: 'n' }), usd, usd2))).toEqual({
      ownerId: OWNER,
      fromAccountId: usd.id,
      toAccountId: usd2.id,
      amount: '10.50',
      currency: 'USD',
      toAmount: '10.50',
      toCurrency: 'USD',
      rate: '1.0000000000',
      date: '2026-03-01',
      notes: 'n',
    });
    expect(judged(sut(input({ amount: '5', toAmount: '5.00' }), usd, usd2)).toAmount).toBe('5.00');
  });

  it('refuses an unequal toAmount in one currency and a missing one across currencies', () => {
    expect(fieldsOf(sut(input({ toAmount: '10.01' }), usd, usd2)).unprocessable).toEqual([
      'toAmount',
    ]);
    expect(fieldsOf(sut(input(), usd, jpy)).unprocessable).toEqual(['toAmount']);
  });

  it.each([
    ['1.00', '2048', '0.0004882812'], // a tie: the even neighbour, down
    ['3.00', '2048', '0.0014648438'], // a tie: the even neighbour, up
    ['1000', '3.00', '333.3333333333'],
    ['2000', '3.00', '666.6666666667'],
  ])('rounds toAmount %s / amount %s half to even at 10 decimals: %s', (to, amount, rate) => {
    const [from, target] = amount.includes('.') ? [usd, jpy] : [jpy, usd];
    expect(judged(sut(input({ amount, toAmount: to }), from, target)).rate).toBe(rate);
  });

  it('refuses a rate that would round to zero at 10 decimals (422 naming toAmount)', () => {
    const tiny = sut(input({ amount: '999999999999.99', toAmount: '0.001' }), usd, kwd);
    expect(fieldsOf(tiny).unprocessable).toEqual(['toAmount']);
  });

  it('formats both legs with their own minor units', () => {
    const t = judged(sut(input({ amount: '0.5', toAmount: '2' }), kwd, usd));
    expect(t).toMatchObject({ amount: '0.500', toAmount: '2.00', rate: '4.0000000000' });
  });

  it('refuses amounts with more decimals than their currency has (400s naming each)', () => {
    expect(fieldsOf(sut(input({ amount: '1.5', toAmount: '1.005' }), jpy, usd))).toEqual({
      invalid: ['amount', 'toAmount'],
      unprocessable: [],
    });
    expect(fieldsOf(sut(input({ amount: '1.00', toAmount: '100.0' }), usd, jpy)).invalid).toEqual([
      'toAmount',
    ]);
  });

  it('refuses the same account twice, archived, unknown, foreign and mixed-owner accounts (422)', () => {
    expect(fieldsOf(sut(input(), usd, usd)).unprocessable).toEqual(['toAccountId']);
    expect(
      fieldsOf(sut(input(), account(usd.id, 'USD', { archived: true }), usd2)).unprocessable,
    ).toEqual(['fromAccountId']);
    expect(fieldsOf(sut(input(), undefined, undefined)).unprocessable).toEqual([
      'fromAccountId',
      'toAccountId',
    ]);
    const foreign = account(usd2.id, 'USD', { ownerId: STRANGER });
    // Someone else's account reads exactly like a missing one to a confined caller.
    expect(sut(input(), usd, foreign)).toEqual(sut(input(), usd, undefined));
    // An admin may use anyone's accounts, but both of one owner.
    expect(fieldsOf(sut(input({ confinedTo: undefined }), usd, foreign)).unprocessable).toEqual([
      'toAccountId',
    ]);
    const theirs = account(usd.id, 'USD', { ownerId: STRANGER });
    expect(judged(sut(input({ confinedTo: undefined }), theirs, foreign)).ownerId).toBe(STRANGER);
  });

  it('judges the accounts before the amounts: no currency, no decimals rule', () => {
    expect(fieldsOf(sut(input({ amount: '1.234' }), undefined, usd))).toEqual({
      invalid: [],
      unprocessable: ['fromAccountId'],
    });
  });
});
