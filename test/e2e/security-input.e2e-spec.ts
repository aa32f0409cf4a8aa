import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectNoLeak, expectProblem, fieldsOf } from '../problems';

/**
 * Hostile input: prototype pollution, injection in every filter and sort, wrong shapes and
 * types, oversized and deeply nested bodies, NUL characters, wrong content types and forged
 * request ids. Every one gets the contract's 4xx (or a correct, literal result) and never a 500.
 */

const LONG = 'x'.repeat(10_000);
const HUGE = 'y'.repeat(100_000);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Rows whose notes hold the characters attackers use, to prove searches match them literally. */
const SEED = [
  { category: 'Food', notes: 'plain lunch' },
  { category: 'Pct', notes: '100% juice' },
  { category: 'Under', notes: 'snake_case note' },
  { category: 'Slash', notes: 'back\\slash' },
  { category: 'Quote', notes: "O'Brien ' OR 1=1 --" },
  { category: 'Drop', notes: '"; DROP TABLE transactions; --' },
  { category: 'Café', notes: 'crème brûlée 🍮' },
];

const tx = (over: Record<string, unknown> = {}) => ({
  type: 'expense',
  amount: '10.00',
  category: 'Food',
  date: '2026-02-01',
  ...over,
});

describe('security: hostile input', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let victim: TestUser;
  let ownTx: string;
  let counts: { transactions: number; users: number };

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, victim] = await Promise.all([
      createUser(app, admin, 'analyst', { name: 'Ana Lyst' }),
      createUser(app, admin, 'analyst', { name: 'Vic Tim' }),
    ]);
    for (const row of SEED) {
      const res = await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send(tx(row))
        .expect(201);
      ownTx ??= res.body.id;
    }
    // The victim's rows hold every search term too: an injection that escapes the owner filter
    // would show them.
    for (const row of SEED) {
      await app.http().post('/api/v1/transactions').set(bearer(victim)).send(tx(row)).expect(201);
    }
    counts = await tableCounts();
  });
  afterAll(() => app.stop());

  async function tableCounts() {
    const { rows } = await app.sql.query(
      `SELECT (SELECT count(*) FROM transactions)::int AS transactions, (SELECT count(*) FROM users)::int AS users`,
    );
    return rows[0] as { transactions: number; users: number };
  }

  const get = (user: TestUser, path: string) => app.http().get(path).set(bearer(user));

  /** Sends `body` exactly as given (no serialisation by the client). */
  const raw = (
    method: 'post' | 'patch',
    path: string,
    body: string | Buffer,
    user?: TestUser,
    contentType = 'application/json',
  ) => {
    const req = app.http()[method](path).set('Content-Type', contentType);
    if (user) req.set(bearer(user));
    return req.send(body);
  };

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

  describe('arrays and wrong types where scalars are expected', () => {
    it.each([
      ['/api/v1/transactions?type=income&type=expense'],
      ['/api/v1/transactions?type[]=income'],
      ['/api/v1/transactions?category=Food&category=Pct'],
      ['/api/v1/transactions?sort=date&sort=-date'],
      ['/api/v1/transactions?limit=1&limit=2'],
      ['/api/v1/transactions?q[]=lunch'],
      ['/api/v1/transactions?q[$ne]=x'],
      ['/api/v1/transactions/export?type[]=income'],
      ['/api/v1/dashboard/summary?range=all&range=ytd'],
    ])('answers the repeated or array-shaped query %s with 400', async (path) => {
      expectProblem(await get(analyst, path), 400);
    });

    it.each([
      ['/api/v1/users?role=admin&role=viewer'],
      ['/api/v1/audit-logs?action[]=user.create'],
    ])('answers the admin query %s with 400', async (path) => {
      expectProblem(await get(admin, path), 400);
    });

    const bodies: [string, Record<string, unknown>, string][] = [
      ['amount as an array', { amount: ['1'] }, 'amount'],
      ['amount as {"$gt": 0}', { amount: { $gt: 0 } }, 'amount'],
      ['amount as true', { amount: true }, 'amount'],
      ['amount as null', { amount: null }, 'amount'],
      ['category as {"$ne": 1}', { category: { $ne: 1 } }, 'category'],
      ['category as an array', { category: ['Food'] }, 'category'],
      ['category as a number', { category: 123 }, 'category'],
      ['category as true', { category: true }, 'category'],
      ['category as null', { category: null }, 'category'],
      ['type as an array', { type: ['income'] }, 'type'],
      ['type as a number', { type: 1 }, 'type'],
      ['type as false', { type: false }, 'type'],
      ['type as null', { type: null }, 'type'],
      ['date as an array', { date: ['2026-02-01'] }, 'date'],
      ['date as a number', { date: 20260201 }, 'date'],
      ['date as null', { date: null }, 'date'],
      ['notes as an array', { notes: ['x'] }, 'notes'],
      ['notes as an object', { notes: { a: 1 } }, 'notes'],
      ['notes as a number', { notes: 5 }, 'notes'],
      ['ownerId as an array', { ownerId: ['x'] }, 'ownerId'],
    ];

    it.each(bodies)(
      'answers POST /transactions with %s with 400 naming the field, creating nothing',
      async (_name, over, field) => {
        const res = await app
          .http()
          .post('/api/v1/transactions')
          .set(bearer(analyst))
          .send(tx(over));
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await tableCounts()).toEqual(counts);
      },
    );

    it.each([
      ['type', null],
      ['amount', null],
      ['category', null],
      ['date', null],
      ['amount', ['5.00']],
      ['category', { $ne: 1 }],
      ['category', 42],
      ['type', true],
    ])(
      'answers an admin’s PATCH /transactions/:id setting %s to %j with 400, changing nothing',
      async (field, value) => {
        const before = await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx]);
        const res = await app
          .http()
          .patch(`/api/v1/transactions/${ownTx}`)
          .set(bearer(admin))
          .send({ [field]: value });
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        const after = await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx]);
        expect(after.rows).toEqual(before.rows);
      },
    );

    it('still lets an admin clear notes with null (control for the null checks above)', async () => {
      const res = await app
        .http()
        .patch(`/api/v1/transactions/${ownTx}`)
        .set(bearer(admin))
        .send({ notes: null })
        .expect(200);
      expect(res.body.notes).toBeNull();
      await app
        .http()
        .patch(`/api/v1/transactions/${ownTx}`)
        .set(bearer(admin))
        .send({ notes: 'plain lunch' })
        .expect(200);
    });

    const userBodies: [string, Record<string, unknown>, string][] = [
      ['name as a number', { name: 5 }, 'name'],
      ['name as null', { name: null }, 'name'],
      ['email as a number', { email: 5 }, 'email'],
      ['email as an array', { email: ['a@test.local'] }, 'email'],
      ['password as a number', { password: 12345678 }, 'password'],
      ['password as null', { password: null }, 'password'],
      ['role as true', { role: true }, 'role'],
      ['role as an array', { role: ['admin'] }, 'role'],
    ];

    it.each(userBodies)(
      'answers POST /users with %s with 400 naming the field',
      async (_n, over, field) => {
        const res = await app
          .http()
          .post('/api/v1/users')
          .set(bearer(admin))
          .send({
            name: 'Typed',
            email: `typed-${randomBytes(3).toString('hex')}@test.local`,
            password: 'a-good-password',
            role: 'viewer',
            ...over,
          });
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await tableCounts()).toEqual(counts);
      },
    );

    it.each([
      ['isActive as the string "false"', { isActive: 'false' }, 'isActive'],
      ['isActive as 0', { isActive: 0 }, 'isActive'],
      ['isActive as null', { isActive: null }, 'isActive'],
      ['role as null', { role: null }, 'role'],
      ['name as an object', { name: { $ne: '' } }, 'name'],
    ])('answers PATCH /users/:id with %s with 400 naming the field', async (_n, body, field) => {
      const res = await app
        .http()
        .patch(`/api/v1/users/${victim.id}`)
        .set(bearer(admin))
        .send(body);
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each([
      ['email as a number', { email: 1, password: 'whatever-pass' }],
      ['email as {"$ne": null}', { email: { $ne: null }, password: 'whatever-pass' }],
      ['password as {"$ne": null}', { email: 'root@test.local', password: { $ne: null } }],
      ['password as true', { email: 'root@test.local', password: true }],
      ['email as null', { email: null, password: 'whatever-pass' }],
    ])('answers a login with %s with 400, not a token', async (_n, body) => {
      const res = await app.http().post('/api/v1/auth/login').send(body);
      expectProblem(res, 400);
      expect(res.body).not.toHaveProperty('accessToken');
    });

    it.each([
      ['a number', 123],
      ['an array', ['x']],
      ['null', null],
    ])('answers a refresh token given as %s with 400', async (_n, value) => {
      expectProblem(
        await app.http().post('/api/v1/auth/refresh').send({ refreshToken: value }),
        400,
      );
    });
  });

  describe('oversized, deep and strange values', () => {
    it('answers a JSON body over 1 MiB with 413, creating nothing', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send(tx({ notes: 'n'.repeat(1_100_000) }));
      expectProblem(res, 413);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers an object nested 10,000 levels deep with 400, and answers normally afterwards', async () => {
      const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
      const body = `{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","notes":${deep}}`;
      expectProblem(await raw('post', '/api/v1/transactions', body, analyst), 400);
      await app.http().get('/health/ready').expect(200);
      await get(analyst, '/api/v1/transactions?limit=1').expect(200);
    });

    it('answers arrays nested 10,000 levels deep as the whole body with 400', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      expectProblem(await raw('post', '/api/v1/users', deep, admin), 400);
      await app.http().get('/health/live').expect(200);
    });

    it.each([
      ['category', '/api/v1/transactions', () => tx({ category: HUGE })],
      ['notes', '/api/v1/transactions', () => tx({ notes: HUGE })],
      ['amount', '/api/v1/transactions', () => tx({ amount: '9'.repeat(100_000) })],
      ['date', '/api/v1/transactions', () => tx({ date: HUGE })],
      ['type', '/api/v1/transactions', () => tx({ type: HUGE })],
    ])('answers a 100,000-character %s with 400', async (field, path, body) => {
      const res = await app.http().post(path).set(bearer(analyst)).send(body());
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each([
      ['name', { name: HUGE }],
      ['email', { email: `${HUGE}@test.local` }],
      ['password', { password: HUGE }],
    ])('answers POST /users with a 100,000-character %s with 400', async (field, over) => {
      const res = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .send({
          name: 'Big',
          email: 'big@test.local',
          password: 'a-good-password',
          role: 'viewer',
          ...over,
        });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each([
      ['login email', '/api/v1/auth/login', { email: HUGE, password: 'whatever-pass' }],
      ['login password', '/api/v1/auth/login', { email: 'root@test.local', password: HUGE }],
      ['refresh token', '/api/v1/auth/refresh', { refreshToken: HUGE }],
      ['logout token', '/api/v1/auth/logout', { refreshToken: HUGE }],
    ])('answers a 100,000-character %s with 400', async (_n, path, body) => {
      expectProblem(await app.http().post(path).send(body), 400);
    });

    it('answers a 100,000-character current password on a password change with 400', async () => {
      const res = await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(analyst))
        .send({ currentPassword: HUGE, newPassword: 'another-good-password' });
      expectProblem(res, 400);
    });

    it.each([
      ['1e309 (Infinity once parsed)', '1e309'],
      ['-1e309', '-1e309'],
      ['12345678901234567890 as a number', '12345678901234567890'],
      ['"12345678901234567890"', '"12345678901234567890"'],
      ['1e21 as a number', '1e21'],
      ['"1000000000000" (13 digits)', '"1000000000000"'],
      ['-0', '-0'],
      ['0', '0'],
      ['"0.00"', '"0.00"'],
      ['"NaN"', '"NaN"'],
      ['"Infinity"', '"Infinity"'],
      ['"1e3"', '"1e3"'],
      ['"-5.00"', '"-5.00"'],
      ['0.001', '0.001'],
      ['"1.005"', '"1.005"'],
      ['"0x10"', '"0x10"'],
      ['" 5.00"', '" 5.00"'],
      ['"5,00"', '"5,00"'],
    ])('answers amount %s with 400, creating nothing', async (_n, amount) => {
      const body = `{"type":"expense","amount":${amount},"category":"Food","date":"2026-02-01"}`;
      const res = await raw('post', '/api/v1/transactions', body, analyst);
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain('amount');
      expect(await tableCounts()).toEqual(counts);
    });

    it('accepts the largest amount the column holds, 999999999999.99, and returns it exactly', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send(tx({ amount: '999999999999.99', notes: 'max amount' }))
        .expect(201);
      expect(res.body.amount).toBe('999999999999.99');
      counts = await tableCounts();
    });

    it.each([
      ['limit=1e309'],
      ['limit=-0'],
      ['limit=0x10'],
      ['page=99999999999999999999'],
      ['page=-1'],
      ['minAmount=1e309'],
      ['maxAmount=NaN'],
      ['minAmount=-0'],
    ])('answers the query %s with 400', async (query) => {
      expectProblem(await get(analyst, `/api/v1/transactions?${query}`), 400);
    });

    it.each([
      ['category', { category: 'Food\u0000' }],
      ['notes', { notes: 'a\u0000b' }],
      ['category (NUL only)', { category: '\u0000' }],
    ])('answers a NUL character in %s with 400, creating nothing', async (_n, over) => {
      const res = await app.http().post('/api/v1/transactions').set(bearer(analyst)).send(tx(over));
      expectProblem(res, 400);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers a NUL character in a user name with 400, creating nothing', async () => {
      const res = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .send({
          name: 'Nul\u0000Name',
          email: `nul-${randomBytes(3).toString('hex')}@test.local`,
          password: 'a-good-password',
          role: 'viewer',
        });
      expectProblem(res, 400);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers a NUL character in a PATCH of a transaction with 400, changing nothing', async () => {
      const before = await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx]);
      const res = await app
        .http()
        .patch(`/api/v1/transactions/${ownTx}`)
        .set(bearer(admin))
        .send({ notes: 'x\u0000y' });
      expectProblem(res, 400);
      expect(
        (await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx])).rows,
      ).toEqual(before.rows);
    });

    it.each([
      ['the login email', { email: 'root@test.local\u0000', password: 'whatever-pass' }],
      ['the login password', { email: 'root@test.local', password: 'root-password-1\u0000' }],
    ])(
      'answers a NUL character in %s with 400 or the generic 401, never a token',
      async (_n, body) => {
        const res = await app.http().post('/api/v1/auth/login').send(body);
        expect([400, 401]).toContain(res.status);
        expectProblem(res, res.status);
      },
    );

    it.each([
      ['q', 'a%00b'],
      ['category', 'Food%00'],
    ])('answers a NUL character in the %s filter with 400', async (param, value) => {
      expectProblem(await get(analyst, `/api/v1/transactions?${param}=${value}`), 400);
    });

    it('answers a CSV import containing a NUL byte with 422, importing nothing', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions/import')
        .set(bearer(analyst))
        .set('Content-Type', 'text/csv')
        .send(Buffer.from('date,type,amount,category\n2026-02-01,expense,1.00,Fo\u0000od\n'));
      expectProblem(res, 422);
      expect(await tableCounts()).toEqual(counts);
    });
  });

  describe('broken and abandoned uploads', () => {
    const activeCopies = async () =>
      Number(
        (
          await app.sql.query(
            `SELECT count(*) AS n FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND (query ILIKE 'COPY transactions%' OR state LIKE 'idle in transaction%')`,
          )
        ).rows[0].n,
      );

    // The app spools uploads in the OS temp directory, which it shares with this process.
    const spoolFiles = () => readdirSync(tmpdir()).filter((f) => f.startsWith('finance-import-'));

    const waitFor = async (what: string, check: () => Promise<boolean>, ms = 15_000) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (await check()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}`);
    };

    it('answers a multipart upload cut off inside the file part with 400, and keeps serving', async () => {
      const res = await raw(
        'post',
        '/api/v1/transactions/import',
        '--zzz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\ndate,type',
        analyst,
        'multipart/form-data; boundary=zzz',
      );
      expectProblem(res, 400);
      await app.http().get('/health/ready').expect(200);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers a multipart upload without a boundary with 400', async () => {
      expectProblem(
        await raw('post', '/api/v1/transactions/import', 'garbage', analyst, 'multipart/form-data'),
        400,
      );
    });

    it.each([
      ['text/csv', 'text/csv', ''],
      [
        'multipart',
        'multipart/form-data; boundary=zzz',
        '--zzz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n',
      ],
    ])(
      'holds no database connection while a %s upload is in flight, and an abandoned one leaves nothing behind',
      async (_name, contentType, preamble) => {
        const { port } = new URL(app.url);
        const head = `${preamble}date,type,amount,category\n${'2026-02-01,expense,1.00,Abandoned\n'.repeat(200)}`;
        const before = new Set(spoolFiles());
        const socket = connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((r) => socket.once('connect', r));
        socket.write(
          `POST /api/v1/transactions/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${analyst.token}\r\n` +
            `Content-Type: ${contentType}\r\nContent-Length: 1000000\r\n\r\n${head}`,
        );
        // The rows are read and spooled to a temporary file as they arrive ...
        await waitFor('the upload to be spooled', async () =>
          Promise.resolve(
            spoolFiles().some((f) => !before.has(f) && statSync(join(tmpdir(), f)).size > 0),
          ),
        );
        // ... but no COPY and no transaction is open until the whole file is in.
        expect(await activeCopies()).toBe(0);
        socket.destroy();
        await waitFor('the spool file to be removed', async () =>
          Promise.resolve(spoolFiles().every((f) => before.has(f))),
        );
        expect(await activeCopies()).toBe(0);
        expect(await tableCounts()).toEqual(counts);
        await app.http().get('/health/ready').expect(200);
      },
    );
  });

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

type TestUserKind = 'admin' | 'analyst';
const enc = encodeURIComponent;
