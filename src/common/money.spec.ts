import BigJs from 'big.js';
import fc from 'fast-check';
import {
  addMoney,
  compareMoney,
  fitsMinorUnits,
  formatMoney,
  isPositiveMoney,
  keepsValueIn,
  parseMoney,
  ratio,
  roundConverted,
  sameMoney,
  shareOf,
  subtractMoney,
} from './money';

describe('parseMoney', () => {
  it.each([
    ['12', '12'],
    ['12.5', '12.5'],
    ['0.10', '0.10'],
    ['999999999999.99', '999999999999.99'],
    ['1.005', '1.005'],
    [12.5, '12.5'],
    [7, '7'],
  ])('accepts %p', (input, expected) => {
    expect(parseMoney(input)).toBe(expected);
  });

  it.each(['', '-1', '1.2345', '1e3', ' 1', '1,00', '1000000000000', '.5', '5.', 'abc'])(
    'rejects the string %p',
    (input) => {
      expect(parseMoney(input)).toBeUndefined();
    },
  );

  it.each([0.1 + 0.2, 1e21, Number.NaN, Number.POSITIVE_INFINITY, -5, 1.0005])(
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

describe('formatMoney', () => {
  it.each([
    ['12', 2, '12.00'],
    ['12.5', 2, '12.50'],
    ['007.5', 2, '7.50'],
    ['0', 2, '0.00'],
    ['1200', 0, '1200'],
    ['12.000', 0, '12'],
    ['1.005', 3, '1.005'],
    ['1.5', 3, '1.500'],
    ['-0.50', 2, '-0.50'],
    ['-0.00', 2, '0.00'],
    ['999999999999.99', 2, '999999999999.99'],
  ])('writes %s with %d decimals as %s', (input, units, printed) => {
    expect(formatMoney(input, units)).toBe(printed);
  });

  it('refuses to drop a digit that is not zero', () => {
    expect(() => formatMoney('1.005', 2)).toThrow();
  });
});

describe('fitsMinorUnits', () => {
  it.each([
    ['100', 0, true],
    ['100.0', 0, false],
    ['100.5', 0, false],
    ['12.5', 2, true],
    ['12.505', 2, false],
    ['1.005', 3, true],
    ['1.0005', 3, false],
  ])('%s with %d minor units: %p', (text, units, fits) => {
    expect(fitsMinorUnits(text, units)).toBe(fits);
  });
});

describe('keepsValueIn', () => {
  it('keeps trailing zeros only', () => {
    expect(keepsValueIn('12.00', 0)).toBe(true);
    expect(keepsValueIn('12.50', 0)).toBe(false);
    expect(keepsValueIn('12.50', 1)).toBe(true);
  });
});

describe('roundConverted away from a tie', () => {
  it.each([
    ['0.005', 2, '0.00'],
    ['0.015', 2, '0.02'],
    ['0.0250000000000000000001', 2, '0.03'],
    ['-0.005', 2, '0.00'],
    ['-0.015', 2, '-0.02'],
    ['2.5', 0, '2'],
    ['3.5', 0, '4'],
    ['1.0005', 3, '1.000'],
    ['12', 2, '12.00'],
  ])('rounds %s to %d decimals, half to even: %s', (exact, units, rounded) => {
    expect(roundConverted(exact, units, 1)).toBe(rounded);
  });
});

describe('shareOf', () => {
  it('is a percentage with 2 decimals, half up, and 0.00 of nothing', () => {
    expect(shareOf('1', '3')).toBe('33.33');
    expect(shareOf('1', '8')).toBe('12.50');
    expect(shareOf('1', '80000')).toBe('0.00');
    expect(shareOf('1', '0')).toBe('0.00');
    expect(shareOf('0.00001', '0.08')).toBe('0.01');
    expect(shareOf('-1', '8')).toBe('-12.50');
    expect(shareOf('1', '32')).toBe('3.13');
    expect(shareOf('-1', '32')).toBe('-3.13');
    expect(shareOf('-0.001', '80')).toBe('0.00');
  });

  it('equals big.js dividing to 40 decimals, then rounding half up (its former form)', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 3 }))
      .map(([n, d]) => new Big(n.toString()).div(new Big(10).pow(d)).toFixed(d));
    fc.assert(
      fc.property(decimal, decimal, (part, whole) => {
        const w = new Big(whole);
        const former = w.eq(0)
          ? '0.00'
          : new Big(part).times(100).div(w).round(2, Big.roundHalfUp).toFixed(2);
        expect(shareOf(part, whole)).toBe(former);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses what is not a plain decimal rather than guess', () => {
    expect(() => shareOf('1e3', '8')).toThrow();
  });
});

describe('addMoney and subtractMoney', () => {
  it('adds and subtracts exactly at the minor units, signs and zero included', () => {
    expect(subtractMoney('10.00', '12.50', 2)).toBe('-2.50');
    expect(subtractMoney('12.5', '12.50', 2)).toBe('0.00');
    expect(addMoney('0', '1.005', 3)).toBe('1.005');
    expect(subtractMoney('1200', '200', 0)).toBe('1000');
    expect(addMoney('999999999999.99', '0.01', 2)).toBe('1000000000000.00');
  });
});

describe('ratio and sameMoney', () => {
  it('divides exactly and rounds once, half to even', () => {
    expect(ratio('1', '2048', 10)).toBe('0.0004882812');
    expect(ratio('3', '2048', 10)).toBe('0.0014648438');
    expect(ratio('2', '3', 10)).toBe('0.6666666667');
    expect(ratio('999999999999.999', '0.001', 10)).toBe('999999999999999.0000000000');
  });

  it('compares values, not spellings', () => {
    expect(sameMoney('5', '5.00')).toBe(true);
    expect(sameMoney('5.01', '5.1')).toBe(false);
  });
});

describe('roundConverted', () => {
  it('treats a sum within the quotients’ error of a tie as the tie, then rounds half to even', () => {
    // 0.045 / 3 carried to 40 decimals: the true value is the tie 0.015.
    expect(roundConverted('0.0149999999999999999999999999999999999999', 2, 1)).toBe('0.02');
    expect(roundConverted('0.0250000000000000000000000000000000000001', 2, 1)).toBe('0.02');
    expect(roundConverted('-0.0149999999999999999999999999999999999999', 2, 1)).toBe('-0.02');
  });

  it('rounds anything further from a tie as it is', () => {
    expect(roundConverted('0.0149999999999999999999999999999999999', 2, 1)).toBe('0.01');
    expect(roundConverted('0.0150000000000000000000000000000000001', 2, 1)).toBe('0.02');
    expect(roundConverted('0.0250000000000000000000000000000000001', 2, 1)).toBe('0.03');
    expect(roundConverted('1200.4', 0, 1)).toBe('1200');
    expect(roundConverted('12', 2, 0)).toBe('12.00');
  });

  it('gives a sum already in minor units the same answer as the full rounding', () => {
    // Trailing zeros past the minor units send the same value through the 40-decimal path.
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        (n, units, short, zeros) => {
          const decimals = Math.min(short, units);
          const digits = (n < 0n ? -n : n).toString().padStart(decimals + 1, '0');
          const int = digits.slice(0, digits.length - decimals);
          const text = `${n < 0n ? '-' : ''}${int}${decimals ? `.${digits.slice(-decimals)}` : ''}`;
          const padded = `${text}${decimals ? '' : '.'}${'0'.repeat(units - decimals + zeros)}`;
          expect(roundConverted(text, units, 3)).toBe(roundConverted(padded, units, 3));
        },
      ),
    );
    expect(roundConverted('0', 2, 0)).toBe('0.00');
    expect(roundConverted('1234.5', 3, 1)).toBe('1234.500');
    expect(roundConverted('007.50', 2, 1)).toBe('7.50');
    expect(roundConverted('-0.00', 2, 1)).toBe('0.00');
    expect(roundConverted('-0', 0, 1)).toBe('0');
  });

  it('widens the tolerance with the number of quotients summed', () => {
    const twoFromTie = '0.0149999999999999999999999999999999999998';
    expect(roundConverted(twoFromTie, 2, 1)).toBe('0.01');
    expect(roundConverted(twoFromTie, 2, 2)).toBe('0.02');
  });

  it('equals its former form, which found the tie by dividing by the minor unit', () => {
    const former = (sum: string, minorUnits: number, terms: number): string => {
      const x = new Big(sum);
      const unit = new Big(1).div(new Big(10).pow(minorUnits));
      const below = x.abs().div(unit).round(0, Big.roundDown).times(unit);
      const tie = below.plus(unit.div(2));
      const tolerance = new Big(Math.max(terms, 1)).times('1e-40');
      const snapped = x.abs().minus(tie).abs().lte(tolerance) ? (x.lt(0) ? tie.neg() : tie) : x;
      return snapped.round(minorUnits, Big.roundHalfEven).toFixed(minorUnits);
    };
    // Sums of quotients carried to 40 decimals, some a few units of 1e-40 from a tie.
    const sum = fc.oneof(
      fc
        .tuple(fc.bigInt({ min: -(10n ** 55n), max: 10n ** 55n }))
        .map(([n]) => new Big(n.toString()).div(new Big(10).pow(40)).toFixed()),
      fc
        .tuple(
          fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: -3, max: 3 }),
        )
        .map(([n, d, off]) =>
          new Big(n.toString())
            .plus('0.5')
            .div(new Big(10).pow(d))
            .plus(new Big(off).times('1e-40'))
            .toFixed(),
        ),
    );
    fc.assert(
      fc.property(
        sum,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 4 }),
        (s, u, t) => {
          expect(roundConverted(s, u, t)).toBe(former(s, u, t));
        },
      ),
      { numRuns: 5000 },
    );
  });
});

/** big.js as money.ts sets it up: divisions carried to 40 decimals. */
const Big = BigJs();
Big.DP = 40;
