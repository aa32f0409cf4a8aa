import { CursorCodec } from './cursor';

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
