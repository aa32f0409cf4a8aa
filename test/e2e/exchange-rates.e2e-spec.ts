import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';

/**
 * Exchange rates (docs/api.md, "Exchange rates") over HTTP against the built app: PUT as an upsert (201, then
 * 200), the list's filters, order and cursor, DELETE, the CSV import's all-or-nothing rule, who may
 * do what, and the audit trail. Tests share one database, so each works on dates of its own.
 */

jest.setTimeout(60_000);

interface Rate {
  base: string;
  quote: string;
  date: string;
  rate: string;
}

interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string | null;
  actorId: string;
  changes: Record<string, unknown>;
}

const HEADER = 'base,quote,date,rate';

describe('exchange rates', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
    viewer = await createUser(app, admin, 'viewer');
  });
  afterAll(() => app?.stop());

  const put = (path: string, body: object, user: TestUser = admin) =>
    app.http().put(`/api/v1/exchange-rates/${path}`).set(bearer(user)).send(body);
  const list = async (query: string, user: TestUser = admin) =>
    (await app.http().get(`/api/v1/exchange-rates?${query}`).set(bearer(user)).expect(200))
      .body as { data: Rate[]; meta: { limit: number; nextCursor: string | null } };
  const importCsv = (csv: string, user: TestUser = admin) =>
    app
      .http()
      .post('/api/v1/exchange-rates/import')
      .set(bearer(user))
      .set('Content-Type', 'text/csv')
      .send(csv);
  const auditEntries = async (action: string): Promise<AuditEntry[]> =>
    (
      await app
        .http()
        .get(`/api/v1/audit-logs?entityType=exchange_rate&action=${action}&limit=100`)
        .set(bearer(admin))
        .expect(200)
    ).body.data as AuditEntry[];

  describe('PUT', () => {
    it('creates a rate with 201, then replaces it with 200, answering the rate as stored', async () => {
      const created = await put('EUR/USD/2026-03-02', { rate: '1.0845' }).expect(201);
      expect(created.body).toEqual({
        base: 'EUR',
        quote: 'USD',
        date: '2026-03-02',
        rate: '1.0845',
      });
      const replaced = await put('EUR/USD/2026-03-02', { rate: '1.09000' }).expect(200);
      // Stored normalised: trailing zeros after the point dropped.
      expect(replaced.body).toEqual({
        base: 'EUR',
        quote: 'USD',
        date: '2026-03-02',
        rate: '1.09',
      });
      expect((await list('base=EUR&quote=USD&from=2026-03-02&to=2026-03-02')).data).toEqual([
        replaced.body,
      ]);
    });

    it('accepts a JSON number that prints as a plain decimal', async () => {
      const res = await put('USD/JPY/2026-03-02', { rate: 149.5 }).expect(201);
      expect(res.body.rate).toBe('149.5');
    });

    it('keeps 10 decimals and 18 significant digits exactly', async () => {
      await put('USD/EUR/2026-03-02', { rate: '0.0000000001' }).expect(201);
      const res = await put('USD/KWD/2026-03-02', { rate: '12345678.9012345678' }).expect(201);
      expect(res.body.rate).toBe('12345678.9012345678');
    });

    it('writes an audit entry with the rate before and after', async () => {
      await put('GBP/CHF/2026-03-03', { rate: '1.1' }).expect(201);
      await put('GBP/CHF/2026-03-03', { rate: '1.2' }).expect(200);
      const entries = (await auditEntries('exchange_rate.set')).filter(
        (e) => e.changes.base === 'GBP' && e.changes.quote === 'CHF',
      );
      expect(entries.map((e) => e.changes)).toEqual([
        { base: 'GBP', quote: 'CHF', date: '2026-03-03', rate: { before: '1.1', after: '1.2' } },
        { base: 'GBP', quote: 'CHF', date: '2026-03-03', rate: { before: null, after: '1.1' } },
      ]);
      expect(entries[0]).toMatchObject({
        actorId: admin.id,
        entityType: 'exchange_rate',
        entityId: null,
      });
    });

    it('creates once under concurrent PUTs of one key; each audit entry names the rate it replaced', async () => {
      const rates = Array.from({ length: 8 }, (_, i) => `1.${i + 1}`);
      const statuses = (
        await Promise.all(rates.map((rate) => put('SEK/NOK/2026-03-04', { rate })))
      ).map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(7);
      const changes = (await auditEntries('exchange_rate.set'))
        .filter((e) => e.changes.base === 'SEK')
        .map((e) => e.changes.rate as { before: string | null; after: string })
        .reverse();
      // Oldest first, the entries form one chain: each replaced the rate the previous one set.
      expect(changes).toHaveLength(8);
      expect(changes[0].before).toBeNull();
      for (let i = 1; i < changes.length; i++) expect(changes[i].before).toBe(changes[i - 1].after);
      expect((await list('base=SEK&quote=NOK&to=2026-12-31')).data[0].rate).toBe(changes[7].after);
    });

    it.each([
      ['a lower-case base', 'usd/EUR/2026-01-05', { rate: '1' }, 'base'],
      ['an unknown quote', 'USD/ABC/2026-01-05', { rate: '1' }, 'quote'],
      ['the same currency twice', 'USD/USD/2026-01-05', { rate: '1' }, 'quote'],
      ['a date that does not exist', 'USD/EUR/2025-02-30', { rate: '1' }, 'date'],
      ['a date that is no date', 'USD/EUR/yesterday', { rate: '1' }, 'date'],
      ['a zero rate', 'USD/EUR/2026-01-05', { rate: '0' }, 'rate'],
      ['a negative rate', 'USD/EUR/2026-01-05', { rate: '-1.5' }, 'rate'],
      ['11 decimals', 'USD/EUR/2026-01-05', { rate: '1.12345678901' }, 'rate'],
      ['19 significant digits', 'USD/EUR/2026-01-05', { rate: '1234567890.123456789' }, 'rate'],
      ['an exponent', 'USD/EUR/2026-01-05', { rate: '1e3' }, 'rate'],
      ['a number printed with an exponent', 'USD/EUR/2026-01-05', { rate: 1e-7 }, 'rate'],
      ['no rate', 'USD/EUR/2026-01-05', {}, 'rate'],
      ['an unknown field', 'USD/EUR/2026-01-05', { rate: '1', note: 'x' }, 'note'],
    ])('refuses %s with a 400 naming the field', async (_what, path, body, field) => {
      const res = await put(path, body);
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it('writes nothing when it refuses', async () => {
      expect((await list('from=2026-01-05&to=2026-01-05')).data).toEqual([]);
    });

    it('is for admins only (403)', async () => {
      expectProblem(await put('EUR/USD/2026-01-06', { rate: '1.1' }, analyst), 403);
      expectProblem(await put('EUR/USD/2026-01-06', { rate: '1.1' }, viewer), 403);
      expect((await list('from=2026-01-06&to=2026-01-06')).data).toEqual([]);
    });
  });

  describe('GET', () => {
    // Dates of this block only.
    const seeded: [string, string, string, string][] = [
      ['GBP', 'USD', '1990-01-02', '1.6'],
      ['EUR', 'USD', '1990-01-02', '1.1'],
      ['EUR', 'USD', '1990-01-03', '1.2'],
      ['EUR', 'USD', '1990-01-04', '1.3'],
      ['EUR', 'GBP', '1990-01-02', '0.7'],
      ['EUR', 'GBP', '1990-01-04', '0.75'],
      ['AUD', 'USD', '1990-01-03', '0.65'],
    ];
    const item = ([base, quote, date, rate]: [string, string, string, string]) => ({
      base,
      quote,
      date,
      rate,
    });

    beforeAll(async () => {
      for (const [base, quote, date, rate] of seeded)
        await put(`${base}/${quote}/${date}`, { rate }).expect(201);
    });

    it('sorts by base, then quote, then date newest first, and pages with the cursor', async () => {
      const expected = [
        ['AUD', 'USD', '1990-01-03', '0.65'],
        ['EUR', 'GBP', '1990-01-04', '0.75'],
        ['EUR', 'GBP', '1990-01-02', '0.7'],
        ['EUR', 'USD', '1990-01-04', '1.3'],
        ['EUR', 'USD', '1990-01-03', '1.2'],
        ['EUR', 'USD', '1990-01-02', '1.1'],
        ['GBP', 'USD', '1990-01-02', '1.6'],
      ].map((r) => item(r as [string, string, string, string]));
      const seen: Rate[] = [];
      let cursor = '';
      let pages = 0;
      do {
        const page = await list(
          `from=1990-01-01&to=1990-12-31&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.meta.limit).toBe(2);
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data);
        cursor = page.meta.nextCursor ?? '';
        pages++;
      } while (cursor && pages < 10);
      expect(seen).toEqual(expected);
      expect(pages).toBe(4);
    });

    it('filters by base, quote and an inclusive date range', async () => {
      expect((await list('base=EUR&quote=USD&from=1990-01-03&to=1990-01-04')).data).toEqual([
        item(['EUR', 'USD', '1990-01-04', '1.3']),
        item(['EUR', 'USD', '1990-01-03', '1.2']),
      ]);
      expect((await list('quote=GBP&from=1990-01-01&to=1990-01-03')).data).toEqual([
        item(['EUR', 'GBP', '1990-01-02', '0.7']),
      ]);
      expect((await list('base=GBP&to=1990-12-31')).data).toEqual([
        item(['GBP', 'USD', '1990-01-02', '1.6']),
      ]);
    });

    it('is open to every signed-in role', async () => {
      for (const user of [viewer, analyst])
        expect((await list('base=AUD&to=1990-12-31', user)).data).toEqual([
          item(['AUD', 'USD', '1990-01-03', '0.65']),
        ]);
    });

    it.each([
      ['from after to', 'from=1990-02-01&to=1990-01-01', 'from'],
      ['a lower-case currency', 'base=eur', 'base'],
      ['an unknown currency', 'quote=ABC', 'quote'],
      ['a date that does not exist', 'from=2025-02-30', 'from'],
      ['a forged cursor', 'cursor=abc.def', 'cursor'],
      ['an unknown parameter', 'currency=EUR', 'currency'],
    ])('refuses %s with a 400 naming the field', async (_what, query, field) => {
      const res = await app.http().get(`/api/v1/exchange-rates?${query}`).set(bearer(viewer));
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });
  });

  describe('DELETE', () => {
    it('deletes with 204, then answers 404, and audits the rate it removed', async () => {
      await put('CHF/EUR/2026-04-01', { rate: '1.05' }).expect(201);
      await app
        .http()
        .delete('/api/v1/exchange-rates/CHF/EUR/2026-04-01')
        .set(bearer(admin))
        .expect(204);
      expect((await list('base=CHF&quote=EUR&from=2026-04-01&to=2026-04-01')).data).toEqual([]);
      expectProblem(
        await app.http().delete('/api/v1/exchange-rates/CHF/EUR/2026-04-01').set(bearer(admin)),
        404,
      );
      const [entry] = (await auditEntries('exchange_rate.delete')).filter(
        (e) => e.changes.base === 'CHF',
      );
      expect(entry).toMatchObject({
        actorId: admin.id,
        entityType: 'exchange_rate',
        entityId: null,
        changes: {
          base: 'CHF',
          quote: 'EUR',
          date: '2026-04-01',
          rate: { before: '1.05', after: null },
        },
      });
    });

    it('refuses a bad key with 400 and a non-admin with 403', async () => {
      const bad = await app
        .http()
        .delete('/api/v1/exchange-rates/EUR/eur/2026-04-01')
        .set(bearer(admin));
      expectProblem(bad, 400);
      expect(fieldsOf(bad)).toEqual(['quote']);
      await put('CHF/EUR/2026-04-02', { rate: '1.05' }).expect(201);
      expectProblem(
        await app.http().delete('/api/v1/exchange-rates/CHF/EUR/2026-04-02').set(bearer(analyst)),
        403,
      );
      expect((await list('base=CHF&from=2026-04-02&to=2026-04-02')).data).toHaveLength(1);
    });
  });

  describe('POST /exchange-rates/import', () => {
    it('upserts every row; the header may be in any order and case; a repeated key keeps its last row', async () => {
      await put('EUR/USD/1995-01-03', { rate: '1.0' }).expect(201);
      const csv = [
        'Date,RATE,base,Quote',
        '1995-01-02,1.10,EUR,USD',
        '1995-01-02,1.2,EUR,USD',
        '1995-01-03,1.25,EUR,USD',
        '1995-01-02,0.85,USD,EUR',
        '',
      ].join('\n');
      const res = await importCsv(csv).expect(201);
      expect(res.body).toEqual({ imported: 4, skipped: 0, errors: [] });
      expect((await list('from=1995-01-01&to=1995-12-31')).data).toEqual([
        { base: 'EUR', quote: 'USD', date: '1995-01-03', rate: '1.25' },
        { base: 'EUR', quote: 'USD', date: '1995-01-02', rate: '1.2' },
        { base: 'USD', quote: 'EUR', date: '1995-01-02', rate: '0.85' },
      ]);
      const [entry] = await auditEntries('exchange_rate.set');
      expect(entry).toMatchObject({
        actorId: admin.id,
        entityType: 'exchange_rate',
        entityId: null,
        changes: { import: { rows: 4, created: 2, replaced: 1 } },
      });
    });

    it('accepts any mix of CRLF, LF and CR record endings (an LF header, CRLF and CR rows)', async () => {
      const csv = `${HEADER}\nGBP,USD,1993-01-02,1.5\r\nGBP,USD,1993-01-03,1.25\rGBP,USD,1993-01-04,1.125\r\n`;
      const res = await importCsv(csv);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 201,
        body: { imported: 3, skipped: 0, errors: [] },
      });
      expect((await list('base=GBP&from=1993-01-01&to=1993-12-31')).data).toEqual([
        { base: 'GBP', quote: 'USD', date: '1993-01-04', rate: '1.125' },
        { base: 'GBP', quote: 'USD', date: '1993-01-03', rate: '1.25' },
        { base: 'GBP', quote: 'USD', date: '1993-01-02', rate: '1.5' },
      ]);
    });

    it('streams a large file through in one go', async () => {
      const quotes = ['AUD', 'CAD', 'CHF', 'CNY', 'GBP', 'JPY', 'NOK', 'NZD', 'SEK', 'USD'];
      const day = (i: number) => new Date(Date.UTC(1960, 0, 1 + i)).toISOString().slice(0, 10);
      const rows = quotes.flatMap((quote, q) =>
        Array.from({ length: 2_000 }, (_, i) => `EUR,${quote},${day(i)},${q + 1}.${i + 1}`),
      );
      // The very first key again, last: it wins.
      rows.push(`EUR,AUD,${day(0)},9.99`);
      const res = await importCsv([HEADER, ...rows].join('\n')).expect(201);
      expect(res.body).toEqual({ imported: 20_001, skipped: 0, errors: [] });
      const { rows: stored } = await app.sql.query<{ n: number; first: string }>(
        `SELECT count(*)::int AS n,
           (SELECT rate::text FROM exchange_rates WHERE base = 'EUR' AND quote = 'AUD' AND date = '1960-01-01') AS first
         FROM exchange_rates WHERE date < '1970-01-01'`,
      );
      expect(stored[0]).toEqual({ n: 20_000, first: '9.99' });
    });

    it('takes the file as the `file` field of a multipart form too', async () => {
      const res = await app
        .http()
        .post('/api/v1/exchange-rates/import')
        .set(bearer(admin))
        .attach('file', Buffer.from(`${HEADER}\r\nNZD,USD,1995-02-01,0.6\r\n`), {
          filename: 'rates.csv',
          contentType: 'text/csv',
        })
        .expect(201);
      expect(res.body).toEqual({ imported: 1, skipped: 0, errors: [] });
      expect((await list('base=NZD&to=1995-12-31')).data).toEqual([
        { base: 'NZD', quote: 'USD', date: '1995-02-01', rate: '0.6' },
      ]);
    });

    it('writes nothing when any row is bad, and names each bad row (its line) and field', async () => {
      const csv = [
        HEADER,
        'EUR,USD,1996-01-02,1.1',
        'EUR,USD,1996-01-03,0',
        '',
        '"eu\nr",USD,1996-01-04,1.1',
        'EUR,EUR,1996-01-05,1',
        'EUR,USD,1996-02-30,1.123456789012',
        'EUR,USD,1996-01-06',
        'EUR,USD,1996-01-07,1.1',
        '',
      ].join('\n');
      const res = await importCsv(csv);
      expectProblem(res, 422);
      const errors = (res.body as { errors: { row: number; field: string }[] }).errors;
      // Line numbers count the blank line and the line break inside the quoted field.
      expect(errors.map(({ row, field }) => ({ row, field }))).toEqual([
        { row: 3, field: 'rate' },
        { row: 5, field: 'base' },
        { row: 7, field: 'quote' },
        { row: 8, field: 'date' },
        { row: 8, field: 'rate' },
        { row: 9, field: 'row' },
      ]);
      expect((await list('from=1996-01-01&to=1996-12-31')).data).toEqual([]);
    });

    it('lists the problems of the first 100 bad rows only', async () => {
      const bad = Array.from({ length: 150 }, (_, i) => `EUR,USD,1996-03-${(i % 20) + 10},x`);
      const res = await importCsv([HEADER, ...bad].join('\n'));
      expectProblem(res, 422);
      const errors = (res.body as { errors: { row: number }[] }).errors;
      expect(errors).toHaveLength(100);
      expect(errors[99].row).toBe(101);
      expect(res.body.detail).toContain('150');
    });

    it.each([
      ['a missing column', 'base,quote,date\nEUR,USD,1997-01-02\n', 'rate'],
      ['an unknown column', `${HEADER},note\nEUR,USD,1997-01-02,1.1,x\n`, 'note'],
      ['a repeated column', `${HEADER},rate\nEUR,USD,1997-01-02,1.1,1.2\n`, 'rate'],
    ])('refuses a header with %s (422)', async (_what, csv, field) => {
      const res = await importCsv(csv);
      expectProblem(res, 422);
      expect(fieldsOf(res)).toEqual([field]);
      expect((res.body as { errors: { row: number }[] }).errors[0].row).toBe(1);
      expect((await list('from=1997-01-01&to=1997-12-31')).data).toEqual([]);
    });

    it('refuses a file without data rows, or an empty one (422)', async () => {
      expectProblem(await importCsv(`${HEADER}\n`), 422);
      expectProblem(await importCsv('\n'), 422);
    });

    it('replays an import with the same Idempotency-Key and file, and refuses the key with another file', async () => {
      const csv = `${HEADER}\nEUR,USD,1999-01-04,1.17\nEUR,USD,1999-01-05,1.18\n`;
      const send = (body: string) =>
        app
          .http()
          .post('/api/v1/exchange-rates/import')
          .set(bearer(admin))
          .set('Content-Type', 'text/csv')
          .set('Idempotency-Key', 'rates-1999-01')
          .send(body);
      const first = await send(csv).expect(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const before = (await auditEntries('exchange_rate.set')).length;
      const again = await send(csv).expect(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await auditEntries('exchange_rate.set')).toHaveLength(before);
      expectProblem(await send(`${HEADER}\nEUR,USD,1999-01-06,1.19\n`), 422);
      expect((await list('from=1999-01-01&to=1999-12-31')).data.map((r) => r.date)).toEqual([
        '1999-01-05',
        '1999-01-04',
      ]);
    });

    it('is for admins only (403)', async () => {
      expectProblem(await importCsv(`${HEADER}\nEUR,USD,1998-01-02,1.1\n`, analyst), 403);
      expect((await list('from=1998-01-01&to=1998-12-31')).data).toEqual([]);
    });
  });
});
