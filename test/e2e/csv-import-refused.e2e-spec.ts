import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { startApp, type TestApp } from '../app';
import { csvHelpers, IMPORT, IMPORT_HEADER, lines, ok, three } from '../csv-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';

/**
 * CSV imports (docs/api.md section 6) refused as a whole, end to end over HTTP against the built app:
 * a bad header, an empty, binary or non-UTF-8 file, the wrong content type or query, and a body
 * over IMPORT_MAX_BYTES however it is sent. None of them writes a row. Every request goes through
 * `ok()`, so no response in this file may be a 5xx.
 */

/**
 * POSTs a text/csv body with `Transfer-Encoding: chunked` and no Content-Length, so the server
 * can only learn the size by reading.
 */
function postChunked(
  url: string,
  token: string,
  body: Buffer,
  query = '',
): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${IMPORT}${query}`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'text/csv',
          'Transfer-Encoding': 'chunked',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 512) req.write(body.subarray(i, i + 512));
    req.end();
  });
}

// Starting an app (and a second one for the size limit) can take a while on a busy machine.
jest.setTimeout(60_000);

describe('CSV import and export', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const { importCsv, importMultipart, countRows, analyst } = csvHelpers(
    () => app,
    () => admin,
  );

  describe('import', () => {
    it.each([
      [
        'an unknown column',
        lines('date,type,amount,category,colour', '2026-06-01,expense,1.00,Food,red'),
      ],
      ['a missing required column', lines('date,type,category,notes', '2026-06-01,expense,Food,x')],
      [
        'a repeated column',
        lines('date,type,amount,amount,category', '2026-06-01,expense,1.00,1.00,Food'),
      ],
      ['a header without data rows', lines(IMPORT_HEADER)],
      ['a header followed only by blank lines', `${IMPORT_HEADER}\r\n\r\n\r\n`],
      ['no header (data in line 1)', lines('2026-06-01,expense,1.00,Food,x')],
      [
        'an unclosed quote',
        lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,"never closed', 'x'),
      ],
    ])('answers 422 problem+json to %s and writes nothing', async (_name, body) => {
      const user = await analyst();
      const before = await countRows();
      const res = await importCsv(user, body);
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await countRows()).toBe(before);
    });

    it('names the offending header columns in errors (row 1)', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        lines('date,type,category,colour', '2026-06-01,expense,Food,red'),
      );
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ row: 1, field: 'colour' }),
          expect.objectContaining({ row: 1, field: 'amount' }),
        ]),
      );
    });

    it('answers 400 or 422 to an empty body', async () => {
      const user = await analyst();
      const res = await importCsv(user, Buffer.alloc(0));
      expect([400, 422]).toContain(res.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('answers 422 to a binary file (random bytes with NULs)', async () => {
      const user = await analyst();
      const bytes = randomBytes(4096);
      bytes[0] = 0;
      bytes[100] = 0;
      const res = await importCsv(user, bytes);
      expect(res.status).toBe(422);
    });

    it('answers 422 to an otherwise valid file with a NUL byte in a field, and writes nothing', async () => {
      const user = await analyst();
      const res = await importCsv(
        user,
        Buffer.from(lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,a\u0000b'), 'utf8'),
      );
      expect(res.status).toBe(422);
      expect(await countRows(user.id)).toBe(0);
    });

    it('answers 422 to invalid UTF-8 (a lone 0xE9 byte), and writes nothing', async () => {
      const user = await analyst();
      const body = Buffer.concat([
        Buffer.from(`${IMPORT_HEADER}\n2026-06-01,expense,1.00,Caf`, 'utf8'),
        Buffer.from([0xe9]),
        Buffer.from(',latin-1\n', 'utf8'),
      ]);
      const res = await importCsv(user, body);
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await countRows(user.id)).toBe(0);
    });

    it.each(['application/json', 'text/plain', 'application/x-www-form-urlencoded'])(
      'answers 415 to Content-Type %s',
      async (type) => {
        const user = await analyst();
        const body = type === 'application/json' ? JSON.stringify({ csv: three }) : three;
        const res = await importCsv(user, body, {}, type);
        expect(res.status).toBe(415);
        expect(await countRows(user.id)).toBe(0);
      },
    );

    it('answers 422 to a multipart upload without a `file` field', async () => {
      const user = await analyst();
      const res = await importMultipart(user, three, {}, 'upload');
      expect(res.status).toBe(422);
      expect(await countRows(user.id)).toBe(0);
    });

    it.each([
      ['dryRun=maybe', { dryRun: 'maybe' }],
      ['mode=some', { mode: 'some' }],
      ['an unknown parameter', { force: 'true' }],
      ['a non-UUID ownerId', { ownerId: 'me' }],
    ])('answers 400 to %s', async (_name, query) => {
      const user = await analyst();
      const res = await importCsv(user, three, query);
      expect(res.status).toBe(400);
      expect(await countRows(user.id)).toBe(0);
    });
  });

  // ---- the size limit ----

  describe('with IMPORT_MAX_BYTES=1000', () => {
    let small: TestApp;
    let user: TestUser;
    // A valid 5 KB file: without the limit it would import.
    const big = Buffer.from(
      lines(
        IMPORT_HEADER,
        ...Array.from({ length: 120 }, (_, i) => `2026-06-01,expense,${i + 1}.00,Food,row ${i}`),
      ),
      'utf8',
    );

    beforeAll(async () => {
      small = await startApp({ IMPORT_MAX_BYTES: '1000' });
      const smallAdmin = await loginAdmin(small);
      user = await createUser(small, smallAdmin, 'analyst');
    });
    afterAll(() => small?.stop());

    const count = async () =>
      (await small.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions')).rows[0]
        .n;

    it('still imports a file under the limit', async () => {
      expect(big.length).toBeGreaterThan(4000);
      const res = ok(
        await small
          .http()
          .post(IMPORT)
          .set(bearer(user))
          .set('Content-Type', 'text/csv')
          .send(lines(IMPORT_HEADER, '2026-06-01,expense,1.00,Food,small')),
      );
      expect(res.status).toBe(201);
    });

    it('answers 413 to a 5 KB text/csv body with Content-Length and writes nothing', async () => {
      const before = await count();
      const res = ok(
        await small.http().post(IMPORT).set(bearer(user)).set('Content-Type', 'text/csv').send(big),
      );
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await count()).toBe(before);
    });

    it('answers 413 to a 5 KB multipart upload and writes nothing', async () => {
      const before = await count();
      const res = ok(
        await small
          .http()
          .post(IMPORT)
          .set(bearer(user))
          .attach('file', big, { filename: 'big.csv', contentType: 'text/csv' }),
      );
      expect(res.status).toBe(413);
      expect(await count()).toBe(before);
    });

    it('answers 413 to a 5 KB body sent chunked without Content-Length, and writes nothing', async () => {
      const before = await count();
      const res = ok(await postChunked(small.url, user.token, big));
      expect(res.status).toBe(413);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(await count()).toBe(before);
    });

    it('answers 413 to a chunked body even in mode=partial, and writes nothing', async () => {
      const before = await count();
      const res = ok(await postChunked(small.url, user.token, big, '?mode=partial'));
      expect(res.status).toBe(413);
      expect(await count()).toBe(before);
    });
  });
});
