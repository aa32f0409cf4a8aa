import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, type TestUser } from '../factories';
import { expectNoLeak, expectProblem, fieldsOf } from '../problems';
import {
  hostileInputHelpers,
  seedHostileInput,
  tx,
  type TableCounts,
} from '../security-input-helpers';

/**
 * Hostile input: prototype pollution in bodies and query strings, and injection in every filter
 * and sort. Every attempt gets the contract's 4xx (or a correct, literal result) and never a 500,
 * and roles, owners and tables come out unchanged.
 */

const LONG = 'x'.repeat(10_000);

describe('security: hostile input', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let victim: TestUser;
  let ownTx: string;
  let counts: TableCounts;

  const { tableCounts, get, raw } = hostileInputHelpers(() => app);

  beforeAll(async () => {
    app = await startApp();
    ({ admin, analyst, victim, ownTx } = await seedHostileInput(app));
    counts = await tableCounts();
  });
  afterAll(() => app.stop());

  const notesOf = (res: Response) =>
    (res.body.data as { notes: string }[]).map((t) => t.notes).sort();

  describe('prototype pollution', () => {
    const polluters: [string, (victimId: string) => string][] = [
      [
        'a top-level __proto__',
        (id) =>
          `{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","__proto__":{"role":"admin","ownerId":"${id}","isAdmin":true}}`,
      ],
      [
        'a top-level constructor.prototype',
        () =>
          '{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","constructor":{"prototype":{"isAdmin":true}}}',
      ],
      [
        'a top-level prototype',
        () =>
          '{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","prototype":{"isAdmin":true}}',
      ],
      [
        'a __proto__ nested inside a field',
        () =>
          '{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","notes":{"__proto__":{"polluted":true}}}',
      ],
      [
        'a constructor nested inside an array',
        () =>
          '{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","notes":[{"constructor":{"prototype":{"polluted":true}}}]}',
      ],
      [
        'a __proto__ three levels down',
        () =>
          '{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","notes":{"a":{"b":{"__proto__":{"polluted":true}}}}}',
      ],
    ];

    it.each(polluters)(
      'answers POST /transactions with %s with 400, creating nothing',
      async (_name, body) => {
        const res = await raw('post', '/api/v1/transactions', body(victim.id), analyst);
        expectProblem(res, 400);
        expect(await tableCounts()).toEqual(counts);
      },
    );

    it.each([
      ['PATCH /transactions/:id', 'patch', (): string => `/api/v1/transactions/${ownTx}`, 'admin'],
      ['POST /users', 'post', (): string => '/api/v1/users', 'admin'],
      ['PATCH /users/:id', 'patch', (): string => `/api/v1/users/${victim.id}`, 'admin'],
      ['POST /auth/login', 'post', (): string => '/api/v1/auth/login', 'none'],
      ['POST /auth/refresh', 'post', (): string => '/api/v1/auth/refresh', 'none'],
      ['POST /auth/password', 'post', (): string => '/api/v1/auth/password', 'analyst'],
    ] as const)('answers %s with a __proto__ key with 400', async (_name, method, path, who) => {
      const user = who === 'admin' ? admin : who === 'analyst' ? analyst : undefined;
      const res = await raw(method, path(), '{"__proto__":{"role":"admin"},"name":"x"}', user);
      expectProblem(res, 400);
    });

    it.each([
      ['__proto__[role]=admin'],
      ['constructor[prototype][role]=admin'],
      ['__proto__=admin'],
      ['constructor=1'],
    ])('answers a query string with %s with 400', async (query) => {
      expectProblem(await get(analyst, `/api/v1/transactions?${query}`), 400);
    });

    it('still behaves afterwards: roles, owners and required fields are unaffected', async () => {
      for (const [, body] of polluters)
        await raw('post', '/api/v1/transactions', body(victim.id), analyst);
      await raw('post', '/api/v1/users', '{"__proto__":{"role":"admin","isActive":true}}', admin);

      const me = await get(analyst, '/api/v1/auth/me').expect(200);
      expect(me.body.role).toBe('analyst');
      expectProblem(await get(analyst, '/api/v1/users'), 403);

      const created = await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send(tx({ notes: 'after pollution' }))
        .expect(201);
      expect(created.body.ownerId).toBe(analyst.id);
      expect(created.body).not.toHaveProperty('isAdmin');
      expect(created.body).not.toHaveProperty('polluted');

      // A user body without role must still be refused, not completed from a polluted prototype.
      const noRole = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .send({
          name: 'No Role',
          email: `norole-${randomBytes(3).toString('hex')}@test.local`,
          password: 'a-good-password',
        });
      expectProblem(noRole, 400);
      expect(fieldsOf(noRole)).toContain('role');

      counts = await tableCounts(); // the one legitimate row above
    });
  });

  describe('injection in filters and sorts', () => {
    const literal: [string, string, string[]][] = [
      ["' OR 1=1 --", 'q', ["O'Brien ' OR 1=1 --"]],
      ['"; DROP TABLE transactions; --', 'q', ['"; DROP TABLE transactions; --']],
      ['%', 'q', ['100% juice']],
      ['_', 'q', ['snake_case note']],
      ['\\', 'q', ['back\\slash']],
      ['brûlée 🍮', 'q', ['crème brûlée 🍮']],
      ["' UNION SELECT id, email FROM users --", 'q', []],
      ["' OR 1=1 --", 'category', []],
      ['%', 'category', []],
      ['_', 'category', []],
      ['\\', 'category', []],
      ['Café', 'category', ['crème brûlée 🍮']],
    ];

    it.each(literal)(
      'matches %j in %s literally, and only the caller’s own rows',
      async (value, param, expected) => {
        const res = await get(
          analyst,
          `/api/v1/transactions?${param}=${encodeURIComponent(value)}&limit=100`,
        ).expect(200);
        expectNoLeak(res);
        expect(notesOf(res)).toEqual([...expected].sort());
        expect(
          (res.body.data as { ownerId: string }[]).every((t) => t.ownerId === analyst.id),
        ).toBe(true);
      },
    );

    it("exports only the literal match for q=' OR 1=1 --", async () => {
      const res = await get(
        analyst,
        `/api/v1/transactions/export?q=${encodeURIComponent("' OR 1=1 --")}`,
      ).expect(200);
      const lines = res.text.trim().split('\n');
      expect(lines).toHaveLength(2); // header + the one row
      expect(lines[1]).toContain('Quote');
    });

    it.each([
      ["' OR 1=1 --", 0],
      ['%', 0],
      ['_', 0],
      ['Vic', 1],
    ])('matches users q=%j literally (%i users)', async (q, n) => {
      const res = await get(admin, `/api/v1/users?q=${encodeURIComponent(q)}`).expect(200);
      expectNoLeak(res);
      expect(res.body.data).toHaveLength(n);
    });

    const rejected: [string, () => string, TestUserKind][] = [
      ['type', () => `/api/v1/transactions?type=${enc("income' OR '1'='1")}`, 'analyst'],
      [
        'sort',
        () => `/api/v1/transactions?sort=${enc('date; DROP TABLE transactions')}`,
        'analyst',
      ],
      ['sort', () => `/api/v1/transactions?sort=${enc('(SELECT 1)')}`, 'analyst'],
      ['sort', () => `/api/v1/transactions?sort=${enc('amount desc, id')}`, 'analyst'],
      ['from', () => `/api/v1/transactions?from=${enc("2026-01-01' OR '1'='1")}`, 'analyst'],
      [
        'to',
        () => `/api/v1/transactions?to=${enc('2026-01-01; DROP TABLE transactions')}`,
        'analyst',
      ],
      ['minAmount', () => `/api/v1/transactions?minAmount=${enc('0 OR 1=1')}`, 'analyst'],
      ['maxAmount', () => `/api/v1/transactions?maxAmount=${enc("1' --")}`, 'analyst'],
      ['ownerId', () => `/api/v1/transactions?ownerId=${enc("' OR 1=1 --")}`, 'admin'],
      ['deleted', () => `/api/v1/transactions?deleted=${enc("all' --")}`, 'admin'],
      ['cursor', () => `/api/v1/transactions?cursor=${enc("' OR 1=1 --")}`, 'analyst'],
      ['limit', () => `/api/v1/transactions?limit=${enc('1; DROP TABLE transactions')}`, 'analyst'],
      ['page', () => `/api/v1/transactions?page=${enc('1 OR 1=1')}`, 'analyst'],
      ['q (10k chars)', () => `/api/v1/transactions?q=${LONG}`, 'analyst'],
      ['category (10k chars)', () => `/api/v1/transactions?category=${LONG}`, 'analyst'],
      ['cursor (10k chars)', () => `/api/v1/transactions?cursor=${LONG}`, 'analyst'],
      ['from (10k chars)', () => `/api/v1/transactions?from=${LONG}`, 'analyst'],
      [
        'minAmount (10k digits)',
        () => `/api/v1/transactions?minAmount=${'9'.repeat(10_000)}`,
        'analyst',
      ],
      [
        'export sort',
        () => `/api/v1/transactions/export?sort=${enc('date; DROP TABLE x')}`,
        'analyst',
      ],
      ['users q (10k chars)', () => `/api/v1/users?q=${LONG}`, 'admin'],
      ['users role', () => `/api/v1/users?role=${enc("admin' OR '1'='1")}`, 'admin'],
      ['users isActive', () => `/api/v1/users?isActive=${enc("true' --")}`, 'admin'],
      ['audit actorId', () => `/api/v1/audit-logs?actorId=${enc("' OR 1=1 --")}`, 'admin'],
      [
        'audit entityType',
        () => `/api/v1/audit-logs?entityType=${enc("user' OR '1'='1")}`,
        'admin',
      ],
      [
        'audit entityId',
        () => `/api/v1/audit-logs?entityId=${enc('1; DROP TABLE audit_logs')}`,
        'admin',
      ],
      ['audit action', () => `/api/v1/audit-logs?action=${enc("user.create' OR '1'='1")}`, 'admin'],
      ['audit from', () => `/api/v1/audit-logs?from=${enc("2026-01-01' --")}`, 'admin'],
      ['audit to', () => `/api/v1/audit-logs?to=${LONG}`, 'admin'],
      ['audit cursor', () => `/api/v1/audit-logs?cursor=${enc("' OR 1=1 --")}`, 'admin'],
      ['audit limit', () => `/api/v1/audit-logs?limit=${enc('1 OR 1=1')}`, 'admin'],
      ['dashboard range', () => `/api/v1/dashboard/summary?range=${enc("all' --")}`, 'analyst'],
      [
        'dashboard from',
        () => `/api/v1/dashboard/summary?from=${enc("2026-01-01' OR '1'='1")}`,
        'analyst',
      ],
      ['dashboard userId', () => `/api/v1/dashboard/summary?userId=${enc("' OR 1=1 --")}`, 'admin'],
      [
        'dashboard interval',
        () => `/api/v1/dashboard/trends?interval=${enc('month; DROP TABLE x')}`,
        'analyst',
      ],
      [
        'dashboard categories type',
        () => `/api/v1/dashboard/categories?type=${enc("income' --")}`,
        'analyst',
      ],
      [
        'dashboard recent limit',
        () => `/api/v1/dashboard/recent?limit=${enc('5 OR 1=1')}`,
        'analyst',
      ],
      [
        'dashboard forecast months',
        () => `/api/v1/dashboard/forecast?months=${enc('3; DROP TABLE x')}`,
        'analyst',
      ],
    ];

    it.each(rejected)('answers an injection attempt in %s with 400', async (_param, path, who) => {
      expectProblem(await get(who === 'admin' ? admin : analyst, path()), 400);
    });

    it('answers a forged but well-formed cursor with 400', async () => {
      const first = await get(analyst, '/api/v1/transactions?cursor=&limit=2').expect(200);
      const [body, signature] = (first.body.meta.nextCursor as string).split('.');
      const state = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      const forged = Buffer.from(JSON.stringify({ ...state, v: "' OR 1=1 --" })).toString(
        'base64url',
      );
      expectProblem(
        await get(analyst, `/api/v1/transactions?cursor=${forged}.${signature}&limit=2`),
        400,
      );
    });

    it('leaves the tables in place and their row counts unchanged after every attempt', async () => {
      const { rows } = await app.sql.query(
        `SELECT to_regclass('public.transactions') AS t, to_regclass('public.users') AS u, to_regclass('public.audit_logs') AS a`,
      );
      expect(rows[0]).toEqual({ t: 'transactions', u: 'users', a: 'audit_logs' });
      expect(await tableCounts()).toEqual(counts);
    });
  });
});

type TestUserKind = 'admin' | 'analyst';
const enc = encodeURIComponent;
