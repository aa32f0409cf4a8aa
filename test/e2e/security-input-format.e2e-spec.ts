import { connect } from 'node:net';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import {
  hostileInputHelpers,
  seedHostileInput,
  tx,
  type TableCounts,
} from '../security-input-helpers';

/**
 * Hostile input in the request's form rather than its values: wrong content types, malformed
 * JSON, missing bodies, and forged or injected X-Request-Id headers. Every one gets the
 * contract's 4xx and never a 500, and no header is ever reflected.
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('security: hostile input', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let victim: TestUser;
  let ownTx: string;
  let counts: TableCounts;

  const { tableCounts, raw } = hostileInputHelpers(() => app);

  beforeAll(async () => {
    app = await startApp();
    ({ admin, analyst, victim, ownTx } = await seedHostileInput(app));
    counts = await tableCounts();
  });
  afterAll(() => app.stop());

  describe('content types and malformed bodies', () => {
    const valid = JSON.stringify(tx({ notes: 'wrong content type' }));

    it.each([
      ['text/plain'],
      ['application/x-www-form-urlencoded'],
      ['multipart/form-data; boundary=xyz'],
      ['application/xml'],
      ['text/csv'],
    ])('answers POST /transactions sent as %s with 415, creating nothing', async (type) => {
      const res = await raw('post', '/api/v1/transactions', valid, analyst, type);
      expectProblem(res, 415);
      expect(await tableCounts()).toEqual(counts);
    });

    it.each([
      ['POST /users', 'post', (): string => '/api/v1/users', 'admin'],
      ['PATCH /users/:id', 'patch', (): string => `/api/v1/users/${victim.id}`, 'admin'],
      ['PATCH /transactions/:id', 'patch', (): string => `/api/v1/transactions/${ownTx}`, 'admin'],
      ['POST /auth/login', 'post', (): string => '/api/v1/auth/login', 'none'],
    ] as const)('answers %s sent form-encoded with 415', async (_n, method, path, who) => {
      const res = await raw(
        method,
        path(),
        'email=root%40test.local&password=root-password-1&name=x',
        who === 'admin' ? admin : undefined,
        'application/x-www-form-urlencoded',
      );
      expectProblem(res, 415);
    });

    it('answers a CSV import sent as application/json with 415', async () => {
      const res = await raw('post', '/api/v1/transactions/import', '{"rows":[]}', analyst);
      expectProblem(res, 415);
    });

    it.each([
      ['a truncated object', '{"type":"expense",'],
      ['single quotes', "{'type':'expense'}"],
      ['a trailing comma', '{"type":"expense",}'],
      ['a bare NaN', 'NaN'],
      ['two objects', '{}{}'],
      ['a comment', '{"type":"expense" /* hi */}'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ])('answers %s as the JSON body with 400', async (_n, body) => {
      expectProblem(await raw('post', '/api/v1/transactions', body, analyst), 400);
      expect(await tableCounts()).toEqual(counts);
    });

    it.each([
      ['no body at all', undefined],
      ['an empty JSON body', ''],
      ['null', 'null'],
      ['an empty object', '{}'],
      ['an empty array', '[]'],
      ['a bare string', '"expense"'],
    ])('answers POST /transactions with %s with 400', async (_n, body) => {
      const req = app.http().post('/api/v1/transactions').set(bearer(analyst));
      const res =
        body === undefined
          ? await req
          : await req.set('Content-Type', 'application/json').send(body);
      expectProblem(res, 400);
      expect(await tableCounts()).toEqual(counts);
    });

    it('lists every missing field of an empty object', async () => {
      const res = await raw('post', '/api/v1/transactions', '{}', analyst);
      expectProblem(res, 400);
      const fields = fieldsOf(res);
      expect(fields).toEqual(expect.arrayContaining(['type', 'amount', 'category', 'date']));
    });
  });

  describe('X-Request-Id', () => {
    const expectGenerated = (res: Response, sent: string) => {
      expect(res.headers['x-request-id']).toMatch(UUID_RE);
      expect(res.headers['x-request-id']).not.toBe(sent);
    };

    it.each([
      ['500 characters', 'r'.repeat(500)],
      ['129 characters', 'r'.repeat(129)],
      ['spaces and markup', '<script>alert(1)</script> x'],
      ['an encoded CRLF and a header', 'abc%0d%0aSet-Cookie:%20owned=1'],
      ['a quote and a semicolon', `id";drop`],
    ])(
      'replaces an id with %s by a generated one, in the header and the problem body',
      async (_n, id) => {
        const res = await app.http().get('/api/v1/auth/me').set('X-Request-Id', id);
        expectProblem(res, 401);
        expectGenerated(res, id);
        expect(res.body.requestId).toBe(res.headers['x-request-id']);
        expect(res.headers['set-cookie']).toBeUndefined();
      },
    );

    /** Writes a request by hand, so header bytes the HTTP client would refuse reach the server. */
    const rawRequest = (headerLines: string) =>
      new Promise<string>((resolve, reject) => {
        const { port } = new URL(app.url);
        const socket = connect(Number(port), '127.0.0.1', () =>
          socket.write(
            `GET /api/v1/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\n${headerLines}Connection: close\r\n\r\n`,
          ),
        );
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString('latin1')));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });

    const headersOf = (response: string) => response.split('\r\n\r\n')[0].split('\r\n');

    it.each([
      ['a bare LF and a second header', 'X-Request-Id: abc\nX-Injected: 1\r\n'],
      ['a bare CR and a second header', 'X-Request-Id: abc\rX-Injected: 1\r\n'],
      ['an obsolete folded continuation', 'X-Request-Id: abc\r\n X-Injected: 1\r\n'],
    ])(
      'never reflects an id carrying %s: 400 or a generated id, no injected header',
      async (_n, lines) => {
        const response = await rawRequest(lines);
        const headers = headersOf(response);
        const status = Number(headers[0].split(' ')[1]);
        expect([400, 401]).toContain(status);
        expect(headers.some((h) => /^x-injected/i.test(h))).toBe(false);
        const id = headers.find((h) => /^x-request-id:/i.test(h));
        if (id) expect(id.split(': ')[1]).toMatch(UUID_RE);
        expect(response).not.toContain('    at ');
      },
    );

    it('replaces an id with non-ASCII bytes by a generated one', async () => {
      const headers = headersOf(await rawRequest('X-Request-Id: caf\xe9-\xff\r\n'));
      expect(headers.find((h) => /^x-request-id:/i.test(h))?.split(': ')[1]).toMatch(UUID_RE);
    });

    it('replaces two X-Request-Id headers by one generated id', async () => {
      const headers = headersOf(await rawRequest('X-Request-Id: one\r\nX-Request-Id: two\r\n'));
      const ids = headers.filter((h) => /^x-request-id:/i.test(h));
      expect(ids).toHaveLength(1);
      expect(ids[0].split(': ')[1]).toMatch(UUID_RE);
    });
  });
});
