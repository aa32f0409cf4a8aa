import { exportFormatter, neutraliseFormula, restoreFormula } from './export-format';

async function format(rows: Record<string, unknown>[]): Promise<string> {
  const sut = exportFormatter();
  let out = '';
  sut.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise((resolve) => sut.on('end', resolve));
  rows.forEach((row) => sut.write(row));
  sut.end();
  await done;
  return out;
}

const row = (over: Record<string, unknown>) => ({
  id: 'i',
  date: '2026-01-01',
  type: 'expense',
  amount: '1.00',
  currency: 'USD',
  category: 'Food',
  notes: null,
  ownerId: 'o',
  accountId: null,
  createdAt: new Date('2026-01-02T03:04:05.678Z'),
  ...over,
});

describe('export CSV format', () => {
  it('writes the header and CRLF-terminated records, timestamps in ISO 8601', async () => {
    expect(await format([row({})])).toBe(
      'id,date,type,amount,currency,category,notes,ownerId,accountId,createdAt\r\n' +
        'i,2026-01-01,expense,1.00,USD,Food,,o,,2026-01-02T03:04:05.678Z\r\n',
    );
  });

  it.each([
    ['a bare LF', 'multi\nline', '"multi\nline"'],
    ['a bare CR', 'a\rb', '"a\rb"'],
    ['a CRLF', 'a\r\nb', '"a\r\nb"'],
    ['a comma', 'x,y', '"x,y"'],
    ['a quote', 'say "hi"', '"say ""hi"""'],
  ])('quotes a field holding %s', async (_what, notes, cell) => {
    expect(await format([row({ notes })])).toBe(
      'id,date,type,amount,currency,category,notes,ownerId,accountId,createdAt\r\n' +
        `i,2026-01-01,expense,1.00,USD,Food,${cell},o,,2026-01-02T03:04:05.678Z\r\n`,
    );
  });

  it.each(['=', '+', '-', '@', '\t', "'"])(
    'prefixes a cell starting with %p with a quote mark',
    async (c) => {
      const line = (await format([row({ category: `${c}SUM(A1)` })])).split('\r\n')[1];
      expect(line).toContain(`,'${c}SUM(A1),`);
    },
  );

  it('guards a cell starting with CR and quotes it, since it holds a line break', async () => {
    const out = await format([row({ notes: '\r=cmd' })]);
    expect(out).toContain(`,"'\r=cmd",`);
  });
});

describe('restoreFormula (the import side of the guard)', () => {
  it.each(['=SUM(A1)', '+1', '-1', '@x', '\tx', '\rx', "'x", "''=x", 'plain', '', "'", 'a=b'])(
    'gives back exactly the stored value %p from its exported cell',
    (stored) => expect(restoreFormula(neutraliseFormula(stored))).toBe(stored),
  );

  it('removes only a quote mark in front of a formula start or another quote mark', () => {
    expect(restoreFormula("'=x")).toBe('=x');
    expect(restoreFormula("''x")).toBe("'x");
    expect(restoreFormula("'x")).toBe("'x");
    expect(restoreFormula("x'=")).toBe("x'=");
  });
});
