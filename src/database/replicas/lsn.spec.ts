import { fromLsnKey, lsnKey, parseLsn } from './lsn';

describe('WAL positions', () => {
  it('reads both halves of a pg_lsn', () => {
    expect(parseLsn('0/3016038')).toBe(0x3016038n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(2n ** 64n - 1n);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '0', '0/', '/1', '1/2/3', 'G/1', '123456789/0'])
      expect(() => parseLsn(bad)).toThrow('not a WAL position');
  });

  it('orders positions the same way as numbers and as fixed-width keys', () => {
    const positions = ['0/FFFFFFFF', '1/0', '0/3016038', '16/B374D848', '0/0'].map(parseLsn);
    const byNumber = [...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const byKey = [...positions].sort((a, b) => lsnKey(a).localeCompare(lsnKey(b)));
    expect(byKey).toEqual(byNumber);
    for (const p of positions) expect(fromLsnKey(lsnKey(p))).toBe(p);
  });
});
