import { ChunkedDocument } from './chunked-document';

async function* batches(...rows: object[][]): AsyncGenerator<object[]> {
  for (const batch of rows) yield await Promise.resolve(batch);
}

describe('ChunkedDocument', () => {
  it('stores the document in order, in chunks of at least the size but the last, that join to valid JSON', async () => {
    const stored: Buffer[] = [];
    const sut = new ChunkedDocument((seq, data) => {
      expect(seq).toBe(stored.length);
      stored.push(data);
      return Promise.resolve();
    }, 64);
    await sut.write('{"user":{"name":"Zoë ✓"}');
    const rows = Array.from({ length: 30 }, (_, i) => ({ i, amount: `${i}.50` }));
    const threes = Array.from({ length: 10 }, (_, i) => rows.slice(3 * i, 3 * i + 3));
    await sut.array('rows', batches(...threes), (r) => r);
    await sut.array('empty', batches(), (r) => r);
    await sut.write('}');
    const { chunks, bytes } = await sut.end();

    expect(chunks).toBe(stored.length);
    expect(chunks).toBeGreaterThan(3);
    for (const chunk of stored.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(64);
    const whole = Buffer.concat(stored);
    expect(bytes).toBe(whole.length);
    expect(JSON.parse(whole.toString('utf8'))).toEqual({
      user: { name: 'Zoë ✓' },
      rows,
      empty: [],
    });
  });

  it('applies the presenter to every record', async () => {
    const stored: Buffer[] = [];
    const sut = new ChunkedDocument((_seq, data) => {
      stored.push(data);
      return Promise.resolve();
    });
    await sut.array(
      'a',
      batches([{ x: 1 }], [{ x: 2 }]),
      (r) => ({ y: (r as { x: number }).x * 2 }),
      true,
    );
    await sut.end();
    expect(JSON.parse(`{${Buffer.concat(stored).toString('utf8')}}`)).toEqual({
      a: [{ y: 2 }, { y: 4 }],
    });
  });
});
