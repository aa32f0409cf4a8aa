import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { JWT_SECRET, startApp, type TestApp } from '../app';
import { bearer, createUser, login, loginAdmin, type TestUser } from '../factories';
import { craftToken } from '../jwt';
import { expectNoLeak, expectProblem, fieldsOf, problemCore } from '../problems';
import { validTx } from '../transactions';
import { readUntil } from '../waits';

/**
 * Attacks on who may see and change what: IDOR on every id route, mass assignment, forged and
 * misused tokens, refresh-token reuse. Each answer is the contract's exact 4xx, and the database
 * shows that nothing changed.
 */

type Method = 'get' | 'patch' | 'delete' | 'post';

const NON_ADMINS = [
  ['an analyst', 'analyst'],
  ['a viewer', 'viewer'],
] as const;

const tx = (over: Record<string, unknown> = {}) =>
  validTx({ category: 'Rent', date: '2026-01-15', notes: 'victim row', ...over });

describe('security: access control', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let viewer: TestUser;
  let victim: TestUser;
  let victimTx: string;
  let victimDeletedTx: string;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, viewer, victim] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'viewer'),
      createUser(app, admin, 'analyst'),
    ]);
    const live = await app
      .http()
      .post('/api/v1/transactions')
      .set(bearer(victim))
      .send(tx())
      .expect(201);
    victimTx = live.body.id;
    const gone = await app
      .http()
      .post('/api/v1/transactions')
      .set(bearer(victim))
      .send(tx({ notes: 'victim deleted row' }))
      .expect(201);
    victimDeletedTx = gone.body.id;
    await app
      .http()
      .delete(`/api/v1/transactions/${victimDeletedTx}`)
      .set(bearer(admin))
      .expect(204);
  });
  afterAll(() => app.stop());

  const as = (user: TestUser, method: Method, path: string) =>
    app.http()[method](path).set(bearer(user));

  const txRow = async (id: string) =>
    (
      await app.sql.query(
        `SELECT owner_id, type, amount::text, category, date::text, notes, deleted_at, updated_at
         FROM transactions WHERE id = $1`,
        [id],
      )
    ).rows[0];

  const userRow = async (id: string) =>
    (
      await app.sql.query(
        `SELECT name, email, role, is_active, password_hash, created_at, updated_at FROM users WHERE id = $1`,
        [id],
      )
    ).rows[0];

  const txCount = async () =>
    Number((await app.sql.query('SELECT count(*) AS n FROM transactions')).rows[0].n);

  describe('IDOR: another user’s ids', () => {
    it('lets the admin read the victim’s transaction (control: the id is real)', async () => {
      const res = await as(admin, 'get', `/api/v1/transactions/${victimTx}`).expect(200);
      expect(res.body.ownerId).toBe(victim.id);
    });

    it.each(NON_ADMINS)(
      'answers GET /transactions/:id of another user’s row with 404 for %s',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        expectProblem(await as(user, 'get', `/api/v1/transactions/${victimTx}`), 404);
      },
    );

    it('answers GET of another user’s row with the same body as a non-existent id', async () => {
      const other = await as(analyst, 'get', `/api/v1/transactions/${victimTx}`);
      const missing = await as(analyst, 'get', `/api/v1/transactions/${randomUUID()}`);
      expectProblem(missing, 404);
      expect(problemCore(other)).toEqual(problemCore(missing));
    });

    it.each(NON_ADMINS)(
      'answers PATCH /transactions/:id of another user’s row with 403 for %s, changing nothing',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        const before = await txRow(victimTx);
        const res = await as(user, 'patch', `/api/v1/transactions/${victimTx}`).send({
          amount: '0.01',
          notes: 'hijacked',
        });
        expectProblem(res, 403);
        expect(await txRow(victimTx)).toEqual(before);
      },
    );

    it.each(NON_ADMINS)(
      'answers DELETE /transactions/:id of another user’s row with 403 for %s, leaving it live',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        expectProblem(await as(user, 'delete', `/api/v1/transactions/${victimTx}`), 403);
        expect((await txRow(victimTx)).deleted_at).toBeNull();
      },
    );

    it.each(NON_ADMINS)(
      'answers POST /transactions/:id/restore of another user’s deleted row with 403 for %s, leaving it deleted',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        expectProblem(
          await as(user, 'post', `/api/v1/transactions/${victimDeletedTx}/restore`),
          403,
        );
        expect((await txRow(victimDeletedTx)).deleted_at).not.toBeNull();
      },
    );

    it('answers an analyst’s PATCH, DELETE and restore of its own row with 403 too (admin only)', async () => {
      const own = await as(analyst, 'post', '/api/v1/transactions').send(tx()).expect(201);
      expectProblem(
        await as(analyst, 'patch', `/api/v1/transactions/${own.body.id}`).send({ notes: 'x' }),
        403,
      );
      expectProblem(await as(analyst, 'delete', `/api/v1/transactions/${own.body.id}`), 403);
      expectProblem(await as(analyst, 'post', `/api/v1/transactions/${own.body.id}/restore`), 403);
    });

    it.each(NON_ADMINS)(
      'answers GET /users/:id of another user with 404 for %s',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        expectProblem(await as(user, 'get', `/api/v1/users/${victim.id}`), 404);
        expectProblem(await as(user, 'get', `/api/v1/users/${admin.id}`), 404);
      },
    );

    it('answers GET /users/:id of another user with the same body as an unknown id', async () => {
      const other = await as(viewer, 'get', `/api/v1/users/${victim.id}`);
      const missing = await as(viewer, 'get', `/api/v1/users/${randomUUID()}`);
      expectProblem(missing, 404);
      expect(problemCore(other)).toEqual(problemCore(missing));
    });

    it.each(NON_ADMINS)(
      'answers PATCH /users/:id of another user with 403 for %s, changing nothing',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        const before = await userRow(victim.id);
        const res = await as(user, 'patch', `/api/v1/users/${victim.id}`).send({
          isActive: false,
          name: 'hijacked',
        });
        expectProblem(res, 403);
        expect(await userRow(victim.id)).toEqual(before);
      },
    );

    it.each(NON_ADMINS)(
      'answers %s promoting itself to admin through PATCH /users/:id with 403',
      async (_label, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        expectProblem(
          await as(user, 'patch', `/api/v1/users/${user.id}`).send({ role: 'admin' }),
          403,
        );
        expect((await userRow(user.id)).role).toBe(who);
        const me = await as(user, 'get', '/api/v1/auth/me').expect(200);
        expect(me.body.role).toBe(who);
      },
    );

    const dashboardRoutes: [string, 'analyst' | 'viewer'][] = [
      ['/api/v1/dashboard', 'analyst'],
      ['/api/v1/dashboard/summary', 'analyst'],
      ['/api/v1/dashboard/recent', 'analyst'],
      ['/api/v1/dashboard/categories', 'analyst'],
      ['/api/v1/dashboard/trends', 'analyst'],
      ['/api/v1/dashboard/forecast', 'analyst'],
      ['/api/v1/dashboard', 'viewer'],
      ['/api/v1/dashboard/summary', 'viewer'],
      ['/api/v1/dashboard/recent', 'viewer'],
    ];
    it.each(dashboardRoutes)(
      'answers %s?userId=<another user> with 403 for the %s',
      async (route, who) => {
        const user = who === 'analyst' ? analyst : viewer;
        expectProblem(await as(user, 'get', `${route}?userId=${victim.id}`), 403);
      },
    );

    it.each([
      ['list', 'ownerId', '/api/v1/transactions'],
      ['list', 'deleted', '/api/v1/transactions'],
      ['export', 'ownerId', '/api/v1/transactions/export'],
      ['export', 'deleted', '/api/v1/transactions/export'],
    ])('answers the %s with %s from a non-admin with 403 (%s)', async (_kind, param, route) => {
      const value = param === 'ownerId' ? victim.id : 'include';
      for (const user of [analyst, viewer]) {
        expectProblem(await as(user, 'get', `${route}?${param}=${value}`), 403);
      }
    });

    it('answers an analyst recording a transaction for another user with 403, creating nothing', async () => {
      const before = await txCount();
      const res = await as(analyst, 'post', '/api/v1/transactions').send(
        tx({ ownerId: victim.id }),
      );
      expectProblem(res, 403);
      expect(await txCount()).toBe(before);
    });

    it('answers an analyst importing for another user with 403, creating nothing', async () => {
      const before = await txCount();
      const res = await app
        .http()
        .post(`/api/v1/transactions/import?ownerId=${victim.id}`)
        .set(bearer(analyst))
        .set('Content-Type', 'text/csv')
        .send('date,type,amount,category\n2026-01-01,expense,1.00,Food\n');
      expectProblem(res, 403);
      expect(await txCount()).toBe(before);
    });

    it('never shows another user’s rows in an analyst’s list or export', async () => {
      const list = await as(analyst, 'get', '/api/v1/transactions?limit=100').expect(200);
      expect(list.body.data.length).toBeGreaterThan(0);
      expect((list.body.data as { ownerId: string }[]).every((t) => t.ownerId === analyst.id)).toBe(
        true,
      );
      const csv = await as(analyst, 'get', '/api/v1/transactions/export').expect(200);
      expect(csv.text).not.toContain(victimTx);
      expect(csv.text).not.toContain(victim.id);
    });
  });

  describe('mass assignment', () => {
    const newUser = (over: Record<string, unknown>) => ({
      name: 'Mass Assign',
      email: `mass-${randomBytes(4).toString('hex')}@test.local`,
      password: 'a-good-password',
      role: 'viewer',
      ...over,
    });

    it.each([
      ['isActive', false],
      ['id', '00000000-0000-4000-8000-000000000001'],
      ['createdAt', '2000-01-01T00:00:00.000Z'],
      ['updatedAt', '2000-01-01T00:00:00.000Z'],
      ['passwordHash', '$2b$04$abcdefghijklmnopqrstuuJ9rMfcR1H2yE2q8y8aQ7Jf1m3n4o5p6'],
    ])(
      'rejects POST /users carrying %s with 400 naming it, creating no user',
      async (field, value) => {
        const body = newUser({ [field]: value });
        const res = await as(admin, 'post', '/api/v1/users').send(body);
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        const found = await app.sql.query('SELECT 1 FROM users WHERE email = $1', [body.email]);
        expect(found.rowCount).toBe(0);
      },
    );

    it.each([
      ['email', 'taken-over@test.local'],
      ['id', '00000000-0000-4000-8000-000000000002'],
      ['createdAt', '2000-01-01T00:00:00.000Z'],
      ['updatedAt', '2000-01-01T00:00:00.000Z'],
      ['passwordHash', '$2b$04$abcdefghijklmnopqrstuuJ9rMfcR1H2yE2q8y8aQ7Jf1m3n4o5p6'],
    ])('rejects PATCH /users/:id carrying %s with 400, changing nothing', async (field, value) => {
      const before = await userRow(victim.id);
      const res = await as(admin, 'patch', `/api/v1/users/${victim.id}`).send({
        name: 'Renamed',
        [field]: value,
      });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
      expect(await userRow(victim.id)).toEqual(before);
    });

    it.each([
      ['id', '00000000-0000-4000-8000-000000000003'],
      ['createdAt', '2000-01-01T00:00:00.000Z'],
      ['updatedAt', '2000-01-01T00:00:00.000Z'],
      ['deletedAt', '2000-01-01T00:00:00.000Z'],
    ])(
      'rejects POST /transactions carrying %s with 400, creating nothing',
      async (field, value) => {
        const before = await txCount();
        const res = await as(analyst, 'post', '/api/v1/transactions').send(tx({ [field]: value }));
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await txCount()).toBe(before);
      },
    );

    it.each([
      ['ownerId', 'analyst'],
      ['id', '00000000-0000-4000-8000-000000000004'],
      ['createdAt', '2000-01-01T00:00:00.000Z'],
      ['deletedAt', '2000-01-01T00:00:00.000Z'],
    ])(
      'rejects an admin’s PATCH /transactions/:id carrying %s with 400, changing nothing',
      async (field, value) => {
        const before = await txRow(victimTx);
        const res = await as(admin, 'patch', `/api/v1/transactions/${victimTx}`).send({
          notes: 'moved',
          [field]: value === 'analyst' ? analyst.id : value,
        });
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await txRow(victimTx)).toEqual(before);
      },
    );

    it.each([
      ['role', 'admin'],
      ['isActive', true],
      ['id', '00000000-0000-4000-8000-000000000005'],
    ])(
      'rejects POST /auth/password carrying %s with 400, changing neither role nor password',
      async (field, value) => {
        const before = await userRow(viewer.id);
        const res = await as(viewer, 'post', '/api/v1/auth/password').send({
          currentPassword: viewer.password,
          newPassword: 'another-good-password',
          [field]: value,
        });
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await userRow(viewer.id)).toEqual(before);
      },
    );

    it('rejects a login carrying role with 400', async () => {
      const res = await app
        .http()
        .post('/api/v1/auth/login')
        .send({ email: viewer.email, password: viewer.password, role: 'admin' });
      expectProblem(res, 400);
    });
  });

  describe('JWT', () => {
    const now = () => Math.floor(Date.now() / 1000);
    let baseline: Record<string, unknown>;

    beforeAll(async () => {
      const res = await app.http().get('/api/v1/auth/me');
      expectProblem(res, 401);
      baseline = problemCore(res);
    });

    /** A token with an arbitrary header, signed with HMAC-SHA256 over the right secret. */
    const withHeader = (header: object, claims: object) => {
      const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const unsigned = `${enc(header)}.${enc({
        iss: 'finance-api',
        aud: 'finance-api',
        iat: now(),
        exp: now() + 600,
        ...claims,
      })}`;
      return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
    };

    it('accepts a hand-made token with the right secret, issuer and audience (control)', async () => {
      await app
        .http()
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${craftToken({ sub: viewer.id })}`)
        .expect(200);
    });

    const forged: [string, () => string | Promise<string>][] = [
      ['alg none', () => craftToken({ sub: admin.id }, { alg: 'none' })],
      [
        'alg none with a signature attached',
        () => `${craftToken({ sub: admin.id }, { alg: 'none' })}c2lnbmF0dXJl`,
      ],
      [
        'HS256 signed with another secret',
        () => craftToken({ sub: admin.id }, { secret: 'x'.repeat(48) }),
      ],
      [
        'an RS256 header over an HMAC signature',
        () => withHeader({ alg: 'RS256', typ: 'JWT' }, { sub: admin.id }),
      ],
      ['an HS512 signature', () => craftToken({ sub: admin.id }, { alg: 'HS512' })],
      ['an expired exp', () => craftToken({ sub: admin.id, iat: now() - 3600, exp: now() - 60 })],
      ['nbf in the future', () => craftToken({ sub: admin.id, nbf: now() + 3600 })],
      ['no sub', () => craftToken({ sub: undefined })],
      ['a sub that is not a uuid', () => craftToken({ sub: "' OR 1=1 --" })],
      ['a numeric sub', () => craftToken({ sub: 1 })],
      ['a sub that is an unknown user', () => craftToken({ sub: randomUUID() })],
      ['another issuer', () => craftToken({ sub: admin.id, iss: 'someone-else' })],
      ['another audience', () => craftToken({ sub: admin.id, aud: 'someone-else' })],
      ['a refresh token in place of an access token', () => admin.refreshToken],
      ['garbage', () => 'not-a-jwt'],
      ['two segments only', () => craftToken({ sub: admin.id }).split('.').slice(0, 2).join('.')],
    ];

    it.each(forged)('answers a token with %s with the generic 401', async (_name, make) => {
      const token = await make();
      const res = await app.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
      expectProblem(res, 401);
      expect(problemCore(res)).toEqual(baseline);
      // The same token gets no further on a write route.
      const write = await app
        .http()
        .post('/api/v1/transactions')
        .set('Authorization', `Bearer ${token}`)
        .send(tx());
      expectProblem(write, 401);
      expect(problemCore(write)).toEqual(baseline);
    });

    it('answers the token of a deactivated user with the generic 401', async () => {
      const user = await createUser(app, admin, 'analyst');
      await as(admin, 'patch', `/api/v1/users/${user.id}`).send({ isActive: false }).expect(200);
      const res = await as(user, 'get', '/api/v1/auth/me');
      expectProblem(res, 401);
      expect(problemCore(res)).toEqual(baseline);
    });

    it('answers a token it accepted before with the generic 401 once its user is deactivated', async () => {
      const user = await createUser(app, admin, 'analyst');
      // Accepted twice: the second time from the verified-token cache (src/auth/verified-tokens.ts).
      await as(user, 'get', '/api/v1/auth/me').expect(200);
      await as(user, 'get', '/api/v1/auth/me').expect(200);
      await as(admin, 'patch', `/api/v1/users/${user.id}`).send({ isActive: false }).expect(200);
      const res = await as(user, 'get', '/api/v1/auth/me');
      expectProblem(res, 401);
      expect(problemCore(res)).toEqual(baseline);
    });

    it('answers a token it accepted before with the generic 401 once its exp has passed', async () => {
      const exp = now() + 3;
      const token = craftToken({ sub: viewer.id, exp });
      const me = () => app.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
      await me().expect(200);
      await me().expect(200);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 50));
      const res = await me();
      expectProblem(res, 401);
      expect(problemCore(res)).toEqual(baseline);
    });

    it('answers the token of a user deleted from the database with the generic 401', async () => {
      const user = await createUser(app, admin, 'viewer');
      await as(user, 'get', '/api/v1/auth/me').expect(200);
      await app.sql.query('DELETE FROM refresh_tokens WHERE user_id = $1', [user.id]);
      await app.sql.query('DELETE FROM users WHERE id = $1', [user.id]);
      // A change made behind the app's back reaches its user cache by NOTIFY, asynchronously
      // (docs/api.md: within milliseconds); allow it a bounded moment under a loaded machine.
      const res = await readUntil(
        async () => await as(user, 'get', '/api/v1/auth/me'),
        (answer) => answer.status !== 200,
      );
      expectProblem(res, 401);
      expect(problemCore(res)).toEqual(baseline);
    });

    it('answers an access token presented as a refresh token with 401, like an unknown one', async () => {
      const unknown = await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: randomBytes(32).toString('base64url') });
      expectProblem(unknown, 401);
      const res = await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: analyst.token });
      expectProblem(res, 401);
      expect(problemCore(res)).toEqual(problemCore(unknown));
    });
  });

  describe('refresh-token reuse', () => {
    it('answers a reused refresh token with 401, revokes its family and records auth.refresh_reuse', async () => {
      const user = await createUser(app, admin, 'viewer');
      const first = await login(app, user.email, user.password);
      const rotated = await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: first.refreshToken })
        .expect(200);

      const reuse = await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: first.refreshToken });
      expectProblem(reuse, 401);

      // The thief's rotated token is dead too: the whole family is revoked.
      expectProblem(
        await app
          .http()
          .post('/api/v1/auth/refresh')
          .send({ refreshToken: rotated.body.refreshToken }),
        401,
      );
      const family = await app.sql.query(
        `SELECT count(*) FILTER (WHERE revoked_at IS NULL) AS live, count(*) AS total
         FROM refresh_tokens WHERE family_id = (
           SELECT family_id FROM refresh_tokens WHERE token_hash = $1
         )`,
        [createHash('sha256').update(first.refreshToken).digest('hex')],
      );
      expect(Number(family.rows[0].total)).toBeGreaterThanOrEqual(2);
      expect(Number(family.rows[0].live)).toBe(0);

      const audit = await as(
        admin,
        'get',
        `/api/v1/audit-logs?action=auth.refresh_reuse&entityId=${user.id}`,
      ).expect(200);
      // One reuse, one entry: presenting the thief's rotated token afterwards finds the family
      // already revoked and records nothing more.
      expect(audit.body.data).toHaveLength(1);
      expect(audit.body.data).toContainEqual(
        expect.objectContaining({
          action: 'auth.refresh_reuse',
          actorId: null,
          entityType: 'user',
          entityId: user.id,
          requestId: reuse.headers['x-request-id'],
        }),
      );
      expect(audit.text).not.toContain(first.refreshToken);
      expect(audit.text).not.toContain(rotated.body.refreshToken);
      expectNoLeak(audit);
    });

    it('records a token presented after logout as a reuse, once however often it is presented', async () => {
      const user = await createUser(app, admin, 'viewer');
      const first = await login(app, user.email, user.password);
      await app
        .http()
        .post('/api/v1/auth/logout')
        .send({ refreshToken: first.refreshToken })
        .expect(204);
      for (let i = 0; i < 3; i++) {
        expectProblem(
          await app.http().post('/api/v1/auth/refresh').send({ refreshToken: first.refreshToken }),
          401,
        );
      }
      const audit = await as(
        admin,
        'get',
        `/api/v1/audit-logs?action=auth.refresh_reuse&entityId=${user.id}`,
      ).expect(200);
      expect(audit.body.data).toHaveLength(1);
    });
  });
});
