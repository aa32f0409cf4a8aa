import { Writable } from 'node:stream';
import { copyCsvLine, CopyWriter } from './copy-writer';

describe('copyCsvLine', () => {
  it('writes NULL as an empty field and quotes what COPY would misread', () => {
    expect(copyCsvLine(['a', null, undefined, 12, ''])).toBe('a,,,12,""\n');
    expect(copyCsvLine(['\\.'])).toBe('"\\."\n');
    expect(copyCsvLine(['x,y', 'say "hi"', 'two\nlines', 'cr\r', ' padded '])).toBe(
      '"x,y","say ""hi""","two\nlines","cr\r", padded \n',
    );
  });
});

/** A stand-in for the COPY stream that records the chunks it is sent. */
function recorder(): { open: () => Writable; chunks: string[]; opened: () => number } {
  const chunks: string[] = [];
  let opened = 0;
  return {
    chunks,
    opened: () => opened,
    open: () => {
      opened++;
      return new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk.toString());
          done();
        },
      });
    },
  };
}

describe('CopyWriter', () => {
  it('opens no COPY when no row was written', async () => {
    const r = recorder();
    await new CopyWriter(r.open).finish();
    expect(r.opened()).toBe(0);
  });

  it('sends many rows in few chunks, every row once and in order', async () => {
    const r = recorder();
    const copy = new CopyWriter(r.open);
    const rows = Array.from({ length: 20_000 }, (_, i) => [i, `row ${i}`, null]);
    for (const row of rows) await copy.write(row);
    await copy.finish();
    expect(r.opened()).toBe(1);
    expect(r.chunks.length).toBeGreaterThan(1);
    expect(r.chunks.length).toBeLessThan(20);
    expect(r.chunks.join('')).toBe(rows.map((row) => copyCsvLine(row)).join(''));
  });

  it('rejects finish() with the error the COPY stream ended with', async () => {
    const copy = new CopyWriter(
      () =>
        new Writable({
          write: (_chunk, _encoding, done) => done(new Error('invalid input syntax')),
        }),
    );
    await copy.write(['a']);
    await expect(copy.finish()).rejects.toThrow('invalid input syntax');
  });
});
