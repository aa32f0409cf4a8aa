import { parsePeriod, periodOf } from './budget-periods';

describe('budget periods', () => {
  it.each([
    ['month', '2026-02-14', { label: '2026-02', from: '2026-02-01', to: '2026-02-28' }],
    ['month', '2024-02-29', { label: '2024-02', from: '2024-02-01', to: '2024-02-29' }],
    ['month', '2026-12-31', { label: '2026-12', from: '2026-12-01', to: '2026-12-31' }],
    ['quarter', '2026-01-01', { label: '2026-Q1', from: '2026-01-01', to: '2026-03-31' }],
    ['quarter', '2026-06-30', { label: '2026-Q2', from: '2026-04-01', to: '2026-06-30' }],
    ['quarter', '2026-11-15', { label: '2026-Q4', from: '2026-10-01', to: '2026-12-31' }],
    ['year', '2026-07-04', { label: '2026', from: '2026-01-01', to: '2026-12-31' }],
  ] as const)('a %s budget puts %s in %j', (period, date, expected) => {
    const sut = periodOf(period, date);
    expect(sut).toEqual(expected);
    expect(parsePeriod(period, expected.label)).toEqual(expected);
  });

  it.each([
    [
      'month',
      ['2026-13', '2026-00', '2026-1', '2026-Q1', '2026', '1899-12', '3000-01', ' 2026-01'],
    ],
    ['quarter', ['2026-Q0', '2026-Q5', '2026-q1', '2026-01', '2026']],
    ['year', ['26', '2026-01', '2026-Q1', '1899', '3000', '']],
  ] as const)('refuses labels not of a %s budget’s form, naming period', (period, labels) => {
    for (const label of labels) {
      expect(parsePeriod(period, label)).toEqual({ field: 'period', message: expect.any(String) });
    }
  });
});
