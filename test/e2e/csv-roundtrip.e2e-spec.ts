import fc from 'fast-check';
import { startApp, type TestApp } from '../app';
import { EXPORT, IMPORT } from '../csv-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import type { NewTx, TxBody, TxType } from '../transactions';

/**
 * CSV export → strict RFC 4180 read → import, property-based (docs/api.md sections 4.1, 6 and the last
 * bullet of 8): whatever Unicode a category or notes holds, every RFC 4180 reader gets back exactly
 * the stored value from the export (the `'` formula guard in front where section 6 puts it), and
 * importing that export into another user stores the same values again.
 *
 * The oracle is the small reader below, written here on purpose (not csv-parse, which the app
 * itself uses): it throws on anything RFC 4180 does not allow, so a line break written unquoted
 * fails the test instead of being read leniently.
 */

const EXPORT_COLUMNS = [
  'id',
  'date',
  'type',
  'amount',
  'currency',
  'category',
  'notes',
  'ownerId',
  'accountId',
  'createdAt',
];
const CATEGORY_MAX = 64;
const NOTES_MAX = 1000;

// ---- the oracle: a strict RFC 4180 reader ----

interface Cell {
  value: string;
  quoted: boolean;
}

/** A string with everything outside printable ASCII spelled as \u{…}, so a failure shows it. */
const esc = (s: string | null | undefined): string =>
  s == null
    ? String(s)
    : JSON.stringify(s).replace(
        /[^\x20-\x7e]/gu,
        (c) => `\\u{${c.codePointAt(0)!.toString(16).padStart(4, '0')}}`,
      );

/**
 * RFC 4180 and nothing more: records end with CRLF (the last one may end at the end of the text),
 * fields are separated by commas; a field is either unquoted (no `"`, CR, LF or comma in it) or
 * quoted (`"…"`, `""` for a quote, anything else inside). Anything else throws, and so does a
 * record whose field count differs from the first one's.
 */
function readRfc4180(text: string): Cell[][] {
  const records: Cell[][] = [];
  let record: Cell[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(
      `not RFC 4180 at offset ${i}: ${why}, near ${esc(text.slice(Math.max(0, i - 30), i + 30))}`,
    );
  };
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      for (i++; ;) {
        const close = text.indexOf('"', i);
        if (close < 0) fail('unclosed quoted field');
        value += text.slice(i, close);
        i = close + 1;
        if (text[i] !== '"') break;
        value += '"';
        i++;
      }
      record.push({ value, quoted: true });
    } else {
      const stop = text.slice(i).search(/[",\r\n]/);
      const end = stop < 0 ? text.length : i + stop;
      record.push({ value: text.slice(i, end), quoted: false });
      i = end;
    }
    if (i === text.length || text.startsWith('\r\n', i)) {
      if (records.length > 0 && record.length !== records[0].length)
        fail(`record ${records.length + 1} has ${record.length} fields, not ${records[0].length}`);
      records.push(record);
      record = [];
      i += 2;
      if (i >= text.length) return records;
    } else if (text[i] === ',') {
      i++;
    } else {
      fail(
        text[i] === '"'
          ? 'a quote inside an unquoted field'
          : text[i - 1] === '"'
            ? `${esc(text[i])} after a closing quote`
            : `a bare ${esc(text[i])} in an unquoted field`,
      );
    }
  }
}

/** The export's rows as objects keyed by the header, read strictly. */
function readExport(text: string): { header: string[]; rows: Record<string, Cell>[] } {
  const [header, ...records] = readRfc4180(text);
  const names = header.map((c) => c.value);
  return {
    header: names,
    rows: records.map((r) => Object.fromEntries(names.map((n, k) => [n, r[k]]))),
  };
}

// ---- the model: what the contract says each value becomes ----

const codePoints = (s: string) => [...s].length;

/** Section 6: a cell starting with = + - @ tab or CR gains a leading `'` on export. */
const guarded = (value: string) => (/^[=+\-@\t\r']/.test(value) ? `'${value}` : value);
/** Section 6: the import removes the guard again: a `'` before a formula start or another `'`. */
const unguarded = (cell: string) => (/^'[=+\-@\t\r']/.test(cell) ? cell.slice(1) : cell);

/** Section 4.1: category is trimmed; notes are kept as sent, absent notes are null. */
const storedCategory = (sent: string) => sent.trim();
const storedNotes = (sent: string | null | undefined) => sent ?? null;
/** Section 6: an import row's notes cell, empty when the notes are absent or empty. */
const importedNotes = (cell: string) => (cell === '' ? null : cell);

// ---- generators ----

const LINE_BREAKS = [
  '\n',
  '\r',
  '\r\n',
  '\n\r',
  '\r\r\n',
  '\u2028',
  '\u2029',
  '\u0085',
  '\v',
  '\f',
];
const CSV_SYNTAX = ['"', ',', '""', '","', '"\r\n"', ' ', ',\n', '\r\n,'];
const FORMULA_STARTS = ['=', '+', '-', '@', '\t', '=SUM(A1:A9)', '=HYPERLINK("http://x.test","y")'];
const COMBINING = ['e\u0301', '\u0308', 'a\u0301\u0302\u0303'];
const EMOJI = ['👩‍👩‍👧', '🏳️‍🌈', '😀', '\u200d', '\ufe0f'];
const RTL = ['שלום', 'مرحبا', '\u202e', '\u200f', '\u202c'];
// A BOM, PostgreSQL COPY's end-of-data marker and NULL spelling, a non-breaking space, the
// largest code point and a noncharacter: text, nothing more.
const ODDITIES = ['\ufeff', '\\.', '\n\\.\n', '\\N', '\u00a0', '\u{10ffff}', '\uffff', "'"];
const PIECES = [
  ...LINE_BREAKS,
  ...CSV_SYNTAX,
  ...FORMULA_STARTS,
  ...COMBINING,
  ...EMOJI,
  ...RTL,
  ...ODDITIES,
];

/** Full code points (no lone surrogates) but never NUL, which the API refuses with a 400. */
const anyText = (maxLength: number) =>
  fc.string({ unit: 'binary', maxLength }).filter((s) => !s.includes('\u0000'));

const piece = fc.oneof(anyText(12), fc.constantFrom(...PIECES));
const pieces = (minLength: number) =>
  fc.array(piece, { minLength, maxLength: 10 }).map((p) => p.join(''));

const truncate = (s: string, max: number) => [...s].slice(0, max).join('');
/** `s` repeated (by code points) to exactly `n` code points. */
const stretch = (s: string, n: number) => {
  const cps = [...(s || 'x')];
  return Array.from({ length: n }, (_, k) => cps[k % cps.length]).join('');
};
/** One code point that trimming leaves alone, formula starters included. */
const edge = fc.oneof(
  fc.constantFrom('=', '+', '-', '@', '"', ',', "'", 'a', 'ש', '😀', '\u0301', '\u202e'),
  anyText(1).filter((c) => c.length > 0 && c.trim() === c),
);

/** Category: 1–64 code points once trimmed, up to exactly 64, possibly with whitespace around. */
const category = fc
  .oneof(
    { weight: 3, arbitrary: pieces(1).map((s) => truncate(s, CATEGORY_MAX)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(edge, pieces(1), edge)
        .map(([a, mid, b]) => a + stretch(mid, CATEGORY_MAX - 2) + b),
    },
  )
  .filter((s) => codePoints(s.trim()) >= 1);

/** Notes: absent, empty, up to 1000 code points, or exactly 1000. */
const notes = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(undefined, '') },
  { weight: 4, arbitrary: pieces(1).map((s) => truncate(s, NOTES_MAX)) },
  {
    weight: 1,
    arbitrary: fc.tuple(edge, pieces(1)).map(([a, s]) => a + stretch(s, NOTES_MAX - 1)),
  },
);

const day = (d: Date) => d.toISOString().slice(0, 10);
const newTx: fc.Arbitrary<NewTx> = fc.record(
  {
    type: fc.constantFrom<TxType>('income', 'expense'),
    amount: fc
      .tuple(fc.bigInt({ min: 0n, max: 999_999_999_999n }), fc.integer({ min: 0, max: 99 }))
      .filter(([units, cents]) => units > 0n || cents > 0)
      .map(([units, cents]) => `${units}.${String(cents).padStart(2, '0')}`),
    date: fc
      .date({ min: new Date('1900-01-01'), max: new Date('2999-12-31'), noInvalidDate: true })
      .map(day),
    category,
    notes,
  },
  { requiredKeys: ['type', 'amount', 'date', 'category'] },
);

/**
 * Run first on every seed: each case the issue names, by hand, so the property never depends on
 * luck to meet a bare LF or a value of the maximum length.
 */
const HAND_PICKED: NewTx[] = (
  [
    { category: 'bare\nLF', notes: 'multi\nline' },
    { category: 'bare\rCR', notes: 'a\rb' },
    { category: 'CR\r\nLF', notes: 'a\r\nb\n\r\nc\r' },
    { category: 'say "hi", ok', notes: '"",,"\r\n"' },
    { category: '\u2028 Trimmed \t\n', notes: '\u2028\u2029\u0085\v\f' },
    { category: '=1+2', notes: '\t=cmd|" /C calc"!A0' },
    { category: '-12', notes: '\r\n=1' },
    { category: '@mention', notes: '+1' },
    { category: 'e\u0301\u0308 👩‍👩‍👧 🏳️‍🌈', notes: 'שלום, مرحبا \u202eabc\u202c "x"' },
    { category: 'a' + 'e\u0301'.repeat(31) + 'z', notes: '👩‍👩‍👧'.repeat(200) },
    { category: '👩‍👩‍👧'.repeat(12) + '🏳️‍🌈', notes: ',\n'.repeat(500) },
    { category: '\\.', notes: '\n\\.\n' },
    { category: 'no notes' },
    { category: 'empty notes', notes: '' },
    { category: "'=" + 'x'.repeat(62), notes: '-' + 'y'.repeat(998) },
    { category: 'x'.repeat(63) + '=', notes: 'y'.repeat(999) + '\r' },
  ] as Pick<NewTx, 'category' | 'notes'>[]
).map((t, k): NewTx => ({
  type: k % 2 === 0 ? 'expense' : 'income',
  amount: `${k + 1}.0${k % 10}`,
  date: `2026-01-${String(k + 1).padStart(2, '0')}`,
  ...t,
}));

// Starting an app can take a while on a busy machine.
jest.setTimeout(60_000);

describe('CSV export and import round trip', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  /** Fails with the response when the status is not the one expected. */
  function expectStatus<T extends { status: number; text?: string }>(res: T, status: number): T {
    if (res.status !== status)
      throw new Error(`expected ${status}, got ${res.status}: ${res.text?.slice(0, 500)}`);
    return res;
  }

  /** Throws with both values escaped, so invisible characters show in the failure. */
  function same(actual: unknown, expected: unknown, what: string): void {
    if (actual === expected) return;
    const show = (v: unknown) => (typeof v === 'string' ? esc(v) : JSON.stringify(v));
    throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }

  const analyst = () => createUser(app, admin, 'analyst');

  const createTx = async (user: TestUser, t: NewTx): Promise<TxBody> =>
    expectStatus(await app.http().post('/api/v1/transactions').set(bearer(user)).send(t), 201)
      .body as TxBody;

  const getTx = async (user: TestUser, id: string): Promise<TxBody> =>
    expectStatus(await app.http().get(`/api/v1/transactions/${id}`).set(bearer(user)), 200)
      .body as TxBody;

  const exportText = async (user: TestUser): Promise<string> =>
    expectStatus(await app.http().get(EXPORT).set(bearer(user)), 200).text;

  const importText = (user: TestUser, text: string) =>
    app.http().post(IMPORT).set(bearer(user)).set('Content-Type', 'text/csv').send(text);

  async function listAll(user: TestUser): Promise<TxBody[]> {
    const out: TxBody[] = [];
    for (let page = 1; ; page++) {
      const res = expectStatus(
        await app
          .http()
          .get('/api/v1/transactions')
          .query({ limit: '100', page: String(page) })
          .set(bearer(user)),
        200,
      );
      out.push(...(res.body.data as TxBody[]));
      if (page >= res.body.meta.totalPages) return out;
    }
  }

  const tx = (category: string, notes?: string): NewTx => ({
    type: 'expense',
    amount: '1.00',
    date: '2026-03-01',
    category,
    notes,
  });

  describe('the strict reader the round trip relies on', () => {
    it('reads quoted fields holding commas, doubled quotes, CR and LF, and CRLF between records', () => {
      const cell = (value: string, quoted = false) => ({ value, quoted });
      expect(readRfc4180('a,"b,""c""\r\nd\re\nf",\r\n"",x,""""\r\n')).toEqual([
        [cell('a'), cell('b,"c"\r\nd\re\nf', true), cell('')],
        [cell('', true), cell('x'), cell('"', true)],
      ]);
      expect(readRfc4180('a,b')).toEqual([[cell('a'), cell('b')]]);
    });

    it.each([
      ['a bare LF in an unquoted field', 'a,b\nc,d\r\n'],
      ['a bare CR in an unquoted field', 'a,b\rc\r\n'],
      ['a LF as the record delimiter', 'a,b\nc,d\n'],
      ['a quote inside an unquoted field', 'a,b"c"\r\n'],
      ['text after a closing quote', 'a,"b"c\r\n'],
      ['an unclosed quoted field', 'a,"b\r\n'],
      ['records of different lengths', 'a,b\r\nc\r\n'],
    ])('throws on %s', (_name, text) => {
      expect(() => readRfc4180(text)).toThrow(/not RFC 4180/);
    });
  });

  describe('quoting in the export', () => {
    it.each(['multi\nline', 'a\rb', 'a\r\nb', 'x,y', 'say "hi"'])(
      'quotes a category and notes of %j and reads back the value',
      async (value) => {
        const user = await analyst();
        await createTx(user, tx(value, value));
        const text = await exportText(user);
        const { rows } = readExport(text);
        expect(rows).toHaveLength(1);
        expect(rows[0].category).toEqual({ value, quoted: true });
        expect(rows[0].notes).toEqual({ value, quoted: true });
        expect(text).toContain(
          `,"${value.replaceAll('"', '""')}","${value.replaceAll('"', '""')}",`,
        );
      },
    );

    it('writes a plain category and notes unquoted', async () => {
      const user = await analyst();
      await createTx(user, tx('Groceries', 'weekly shop'));
      const text = await exportText(user);
      const { rows } = readExport(text);
      expect(rows[0].category).toEqual({ value: 'Groceries', quoted: false });
      expect(rows[0].notes).toEqual({ value: 'weekly shop', quoted: false });
      expect(text).toContain(',Groceries,weekly shop,');
    });
  });

  /**
   * The whole property for one batch: create as one user, export, read strictly, import the
   * export as another user, list; every value compared with the model on the way.
   */
  async function roundTrip(batch: NewTx[]): Promise<void> {
    const source = await analyst();
    const target = await analyst();

    // create: the API stores the trimmed category and the notes as sent (absent → null)
    const created: TxBody[] = [];
    for (const [k, t] of batch.entries()) {
      const row = await createTx(source, t);
      const at = `row ${k} (sent category ${esc(t.category)}, notes ${esc(t.notes)})`;
      same(row.category, storedCategory(t.category), `${at}: category as created`);
      same(row.notes, storedNotes(t.notes), `${at}: notes as created`);
      same(row.amount, t.amount, `${at}: amount as created`);
      same(row.date, t.date, `${at}: date as created`);
      same(row.type, t.type, `${at}: type as created`);
      const read = await getTx(source, row.id);
      same(read.category, row.category, `${at}: category on GET`);
      same(read.notes, row.notes, `${at}: notes on GET`);
      created.push(row);
    }

    // export: a strict RFC 4180 reader gets each stored value back, the formula guard aside
    const text = await exportText(source);
    const { header, rows } = readExport(text);
    same(header.join(','), EXPORT_COLUMNS.join(','), 'export header');
    same(rows.length, created.length, 'exported row count');
    const byId = new Map(rows.map((r) => [r.id.value, r]));
    for (const row of created) {
      const cells = byId.get(row.id);
      if (!cells) throw new Error(`row ${row.id} (category ${esc(row.category)}) not exported`);
      const at = `exported row ${row.id}`;
      same(cells.category.value, guarded(row.category), `${at}: category cell`);
      same(cells.notes.value, guarded(row.notes ?? ''), `${at}: notes cell`);
      same(cells.date.value, row.date, `${at}: date cell`);
      same(cells.type.value, row.type, `${at}: type cell`);
      same(cells.amount.value, row.amount, `${at}: amount cell`);
      same(cells.currency.value, row.currency, `${at}: currency cell`);
      same(cells.accountId.value, '', `${at}: accountId cell`);
      same(cells.ownerId.value, source.id, `${at}: ownerId cell`);
      same(cells.createdAt.value, row.createdAt, `${at}: createdAt cell`);
    }

    // import the export as is into another user: every row, the same values again
    const imported = expectStatus(await importText(target, text), 201);
    expect(imported.body).toEqual({ imported: created.length, skipped: 0, errors: [] });
    // Import takes the `'` guard off again, then validates a row like POST /transactions, so it
    // trims the category cell too (a no-op here: the stored category has no surrounding
    // whitespace). CSV has one spelling for null and '' notes, the empty cell, which import reads
    // as no notes: '' comes back as null.
    const key = (t: Pick<TxBody, 'date' | 'type' | 'amount' | 'category' | 'notes'>) =>
      [t.date, t.type, t.amount, esc(t.category), esc(t.notes)].join(' | ');
    const expected = rows.map((r) =>
      key({
        date: r.date.value,
        type: r.type.value as TxType,
        amount: r.amount.value,
        category: storedCategory(unguarded(r.category.value)),
        notes: importedNotes(unguarded(r.notes.value)),
      }),
    );
    const targetRows = await listAll(target);
    expect(targetRows.every((r) => r.ownerId === target.id)).toBe(true);
    expect(targetRows.map(key).sort()).toEqual(expected.sort());
  }

  it('reads back every stored value from the export with a strict RFC 4180 reader, and imports the export into another user with the same values', async () => {
    // A failure prints the seed and path: pass them to fc.assert to replay it. Each shrinking step
    // is a whole round trip over HTTP, so shrinking stops after a while and reports what it has.
    await fc.assert(
      fc.asyncProperty(fc.array(newTx, { minLength: 1, maxLength: 12, size: 'max' }), roundTrip),
      {
        numRuns: 7, // the hand-picked batch, then 6 generated ones: about 55 records
        examples: [[HAND_PICKED]],
        plugins: [fc.interruptAfterTimeLimit(40_000)],
      },
    );
  }, 120_000);

  describe('values at the maximum length that start with a formula character', () => {
    const atMax = tx('=' + 'x'.repeat(CATEGORY_MAX - 1), '-' + 'y'.repeat(NOTES_MAX - 1));

    it('exports them with the guard, one code point over the limit', async () => {
      const user = await analyst();
      await createTx(user, atMax);
      const { rows } = readExport(await exportText(user));
      expect(rows[0].category.value).toBe(`'${atMax.category}`);
      expect(rows[0].notes.value).toBe(`'${atMax.notes}`);
      expect(codePoints(rows[0].category.value)).toBe(CATEGORY_MAX + 1);
    });

    // The guard does not count towards the length: the import takes it off first.
    it('import back from their export with the same values', async () => {
      const user = await analyst();
      await createTx(user, atMax);
      const text = await exportText(user);
      const target = await analyst();
      expectStatus(await importText(target, text), 201);
      const [row] = await listAll(target);
      expect(row.category).toBe(atMax.category);
      expect(row.notes).toBe(atMax.notes);
    });
  });
});
