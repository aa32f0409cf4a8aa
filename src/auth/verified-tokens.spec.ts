import { VerifiedTokens } from './verified-tokens';

describe('VerifiedTokens', () => {
  const at = (seconds: number) => seconds * 1000;

  it('answers a remembered token until the second its exp names, as jsonwebtoken does', () => {
    const sut = new VerifiedTokens();
    sut.remember('a.b.c', { sub: 'u', exp: 100 });
    expect(sut.get('a.b.c', at(99.999))).toEqual({ sub: 'u', exp: 100 });
    expect(sut.get('a.b.c', at(100))).toBeUndefined();
    // Forgotten once expired: an earlier clock does not bring it back.
    expect(sut.get('a.b.c', at(50))).toBeUndefined();
  });

  it('knows only the exact text it was given', () => {
    const sut = new VerifiedTokens();
    sut.remember('a.b.c', { sub: 'u', exp: 100 });
    expect(sut.get('a.b.C', at(1))).toBeUndefined();
    expect(sut.get('a.b.c ', at(1))).toBeUndefined();
  });

  it.each([undefined, '100', Number.NaN, Number.POSITIVE_INFINITY])(
    'never keeps a token whose exp is %p',
    (exp) => {
      const sut = new VerifiedTokens();
      sut.remember('a.b.c', { sub: 'u', exp });
      expect(sut.get('a.b.c', at(1))).toBeUndefined();
    },
  );

  it('drops the oldest token past its cap', () => {
    const sut = new VerifiedTokens(2);
    sut.remember('one', { exp: 100 });
    sut.remember('two', { exp: 100 });
    sut.remember('three', { exp: 100 });
    expect(sut.get('one', at(1))).toBeUndefined();
    expect(sut.get('two', at(1))).toBeDefined();
    expect(sut.get('three', at(1))).toBeDefined();
  });
});
