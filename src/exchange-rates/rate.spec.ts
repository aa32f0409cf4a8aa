import { normaliseRate, parseRate } from './rate';

describe('parseRate', () => {
  it.each([
    ['1.0845', '1.0845'],
    ['1', '1'],
    ['0.0000000001', '0.0000000001'],
    ['149.5', '149.5'],
    // 18 significant digits, leading zeros not counted
    ['12345678.9012345678', '12345678.9012345678'],
    ['00000123456789012345678', '00000123456789012345678'],
    ['123456789012345678', '123456789012345678'],
    [1.0845, '1.0845'],
    [150, '150'],
  ])('accepts %p', (input, expected) => {
    expect(parseRate(input)).toBe(expected);
  });

  it.each([
    ['0', 'zero'],
    ['0.0000000000', 'zero with decimals'],
    ['-1.2', 'negative'],
    ['+1.2', 'signed'],
    ['1.00000000001', '11 decimals'],
    ['1.00000000000', '11 decimals, all zero'],
    ['1234567890.123456789', '19 significant digits'],
    ['1234567890123456789', '19 integer digits'],
    ['1e3', 'exponent'],
    ['1E-3', 'exponent'],
    ['.5', 'no integer part'],
    ['5.', 'no decimals after the point'],
    [' 1', 'space'],
    ['1,5', 'comma'],
    ['0x10', 'hex'],
    ['Infinity', 'Infinity'],
    ['', 'empty'],
    [`0.${'0'.repeat(70)}1`, 'absurdly long'],
  ])('rejects the string %p (%s)', (input) => {
    expect(parseRate(input)).toBeUndefined();
  });

  it.each([
    [0, 'zero'],
    [-1, 'negative'],
    [1e-7, 'prints as 1e-7'],
    [1e21, 'prints as 1e+21'],
    [0.1 + 0.2, '17 decimals'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('rejects the number %p (%s)', (input) => {
    expect(parseRate(input)).toBeUndefined();
  });

  it.each([null, undefined, true, {}, ['1.2']])('rejects %p', (input) => {
    expect(parseRate(input)).toBeUndefined();
  });
});

describe('normaliseRate', () => {
  it.each([
    ['1.0845', '1.0845'],
    ['1.50', '1.5'],
    ['2.000', '2'],
    ['01.50', '1.5'],
    ['0.0001000', '0.0001'],
    ['100', '100'],
    ['0000123', '123'],
    ['0.5', '0.5'],
  ])('%p → %p', (input, expected) => {
    expect(normaliseRate(input)).toBe(expected);
  });
});
