import { compareMoney, isPositiveMoney, normalizeMoney, parseMoney } from './money';

describe('parseMoney', () => {
  it.each([
    ['12', '12'],
    ['12.5', '12.5'],
    ['0.10', '0.10'],
    ['999999999999.99', '999999999999.99'],
    [12.5, '12.5'],
    [7, '7'],
  ])('accepts %p', (input, expected) => {
    expect(parseMoney(input)).toBe(expected);
  });

  it.each(['', '-1', '1.234', '1e3', ' 1', '1,00', '1000000000000', '.5', '5.', 'abc'])(
    'rejects the string %p',
    (input) => {
      expect(parseMoney(input)).toBeUndefined();
    },
  );

  it.each([0.1 + 0.2, 1e21, Number.NaN, Number.POSITIVE_INFINITY, -5, 1.005])(
    'rejects the number %p',
    (input) => {
      expect(parseMoney(input)).toBeUndefined();
    },
  );

  it.each([null, undefined, true, {}, ['1']])('rejects %p', (input) => {
    expect(parseMoney(input)).toBeUndefined();
  });
});

describe('isPositiveMoney', () => {
  it('rejects zero in any spelling', () => {
    expect(isPositiveMoney('0')).toBe(false);
    expect(isPositiveMoney('0.00')).toBe(false);
    expect(isPositiveMoney('000.0')).toBe(false);
  });
  it('accepts the smallest amount', () => {
    expect(isPositiveMoney('0.01')).toBe(true);
  });
});

describe('compareMoney', () => {
  it.each([
    ['1', '1.00', 0],
    ['2', '10', -1],
    ['10.5', '10.49', 1],
    ['0010', '10.0', 0],
    ['999999999999.99', '999999999999.98', 1],
  ])('compares %s with %s', (a, b, expected) => {
    expect(Math.sign(compareMoney(a, b))).toBe(expected);
  });
});

describe('normalizeMoney', () => {
  it.each([
    ['12', '12.00'],
    ['12.5', '12.50'],
    ['12.05', '12.05'],
    ['007.5', '7.50'],
    ['0', '0.00'],
    ['0.1', '0.10'],
    ['000', '0.00'],
    ['999999999999.99', '999999999999.99'],
  ])('prints %s as NUMERIC(14,2) does: %s', (input, printed) => {
    expect(normalizeMoney(input)).toBe(printed);
  });
});
