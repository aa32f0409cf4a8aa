/**
 * Exact rational arithmetic on BigInt, for tests that compute expected money figures
 * independently of the server (which uses NUMERIC and big.js): no floating point, no rounding
 * until `toMoney`.
 */
export class Rational {
  private constructor(
    readonly n: bigint,
    readonly d: bigint,
  ) {}

  static of(decimal: string): Rational {
    const negative = decimal.startsWith('-');
    const [int, frac = ''] = (negative ? decimal.slice(1) : decimal).split('.');
    const n = BigInt(int + frac) * (negative ? -1n : 1n);
    return Rational.make(n, 10n ** BigInt(frac.length));
  }

  static readonly ZERO = new Rational(0n, 1n);

  private static make(n: bigint, d: bigint): Rational {
    if (d < 0n) return Rational.make(-n, -d);
    const g = gcd(n < 0n ? -n : n, d);
    return new Rational(n / g, d / g);
  }

  plus(o: Rational): Rational {
    return Rational.make(this.n * o.d + o.n * this.d, this.d * o.d);
  }
  minus(o: Rational): Rational {
    return Rational.make(this.n * o.d - o.n * this.d, this.d * o.d);
  }
  times(o: Rational): Rational {
    return Rational.make(this.n * o.n, this.d * o.d);
  }
  div(o: Rational): Rational {
    return Rational.make(this.n * o.d, this.d * o.n);
  }

  /** Rounded half to even to `units` decimals, written as money (`"-12.30"`, `"1200"`). */
  toMoney(units: number): string {
    const scale = 10n ** BigInt(units);
    const num = this.n * scale;
    const negative = num < 0n;
    const abs = negative ? -num : num;
    let q = abs / this.d;
    const twice = (abs % this.d) * 2n;
    if (twice > this.d || (twice === this.d && q % 2n === 1n)) q += 1n;
    const digits = q.toString().padStart(units + 1, '0');
    const body = units === 0 ? digits : `${digits.slice(0, -units)}.${digits.slice(-units)}`;
    return negative && q !== 0n ? `-${body}` : body;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}
