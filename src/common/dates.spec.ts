import { addDays, addMonths, isCalendarDate, isoWeek, todayIn } from './dates';

describe('isCalendarDate', () => {
  it.each(['2024-02-29', '1900-01-01', '2999-12-31', '2026-11-25'])('accepts %s', (d) => {
    expect(isCalendarDate(d)).toBe(true);
  });
  it.each([
    '2025-02-29',
    '2025-02-30',
    '2026-13-01',
    '2026-00-10',
    '1899-12-31',
    '3000-01-01',
    '2026-1-1',
    '20260101',
    '',
    20260101,
  ])('rejects %p', (d) => {
    expect(isCalendarDate(d)).toBe(false);
  });
});

describe('isoWeek', () => {
  it.each([
    ['2026-01-01', '2026-W01'],
    ['2026-02-23', '2026-W09'],
    ['2021-01-03', '2020-W53'],
    ['2024-12-30', '2025-W01'],
    ['2027-01-01', '2026-W53'],
  ])('labels %s as %s', (date, label) => {
    expect(isoWeek(date)).toBe(label);
  });
});

describe('date arithmetic', () => {
  it('crosses month and leap-year boundaries', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addMonths('2026-12-15', 1)).toBe('2027-01-01');
    expect(addMonths('2026-01-31', -12)).toBe('2025-01-01');
  });

  it('takes today in the configured zone', () => {
    const instant = new Date('2026-03-01T02:00:00Z');
    expect(todayIn('UTC', instant)).toBe('2026-03-01');
    expect(todayIn('America/New_York', instant)).toBe('2026-02-28');
  });
});
