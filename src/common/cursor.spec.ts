import { CursorCodec, keysetPage } from './cursor';

describe('CursorCodec', () => {
  const sut = new CursorCodec('a-secret-that-is-long-enough-for-tests', 'transactions');

  it('round-trips a value', () => {
    const value = { s: 'date', v: '2026-01-01', id: 'abc' };
    expect(sut.decode(sut.encode(value))).toEqual(value);
  });

  it('rejects a cursor whose body was changed', () => {
    const [, signature] = sut.encode({ v: '2026-01-01' }).split('.');
    const forged = `${Buffer.from(JSON.stringify({ v: '1999-01-01' })).toString('base64url')}.${signature}`;
    expect(sut.decode(forged)).toBeUndefined();
  });

  it('rejects a cursor signed for another purpose or secret', () => {
    const other = new CursorCodec('a-secret-that-is-long-enough-for-tests', 'audit');
    expect(sut.decode(other.encode({ v: 1 }))).toBeUndefined();
    expect(
      new CursorCodec('another-secret-that-is-long-enough!!', 'transactions').decode(
        sut.encode({ v: 1 }),
      ),
    ).toBeUndefined();
  });

  it.each(['', 'abc', 'a.b.c', '.', 'eyJ2IjoxfQ.', '%%%.###'])('rejects garbage %p', (garbage) => {
    expect(sut.decode(garbage)).toBeUndefined();
  });
});

describe('keysetPage', () => {
  const codec = new CursorCodec('a-secret-that-is-long-enough-for-tests', 'audit');
  const rows = [1, 2, 3, 4].map((n) => ({ id: `id-${n}` }));

  it('returns the first limit rows and a cursor after the last of them when more exist', () => {
    const sut = keysetPage(rows, 3, codec, (last) => ({ id: last.id }));
    expect(sut.rows).toEqual(rows.slice(0, 3));
    expect(codec.decode(sut.nextCursor!)).toEqual({ id: 'id-3' });
  });

  it('returns every row and no cursor at the end', () => {
    expect(keysetPage(rows, 4, codec, (last) => ({ id: last.id }))).toEqual({
      rows,
      nextCursor: null,
    });
    expect(keysetPage([], 4, codec, () => ({}))).toEqual({ rows: [], nextCursor: null });
  });
});
