import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import {
  bearer,
  createApiKey,
  createUser,
  deactivate,
  login,
  loginAdmin,
  type TestKey,
  type TestUser,
} from '../factories';
import { expectProblem, fieldsOf, problemCore } from '../problems';
import { validTx } from '../transactions';
import { readUntil, sleep } from '../waits';

/**
 * API keys (docs/api.md section 10) through HTTP: creation and its validation, use within and outside
 * the key's scopes, revocation, expiry and the owner's state, admin management, audit entries and
 * lastUsedAt, plus the attacks an issuer of keys must withstand (mass assignment, enumeration,
 * escalation through the owner's role, keys minting keys).
 */

const KEY_SHAPE = /^fin_[A-Za-z0-9_-]{43}$/;
const DAY_MS = 86_400_000;

const idsOf = (res: Response): string[] => (res.body.data as { id: string }[]).map((k) => k.id);
const actionsOf = (res: Response): string[] =>
  (res.body.data as { action: string }[]).map((e) => e.action);
const keyOf = (res: Response): string => res.body.key as string;

const tx = (over: Record<string, unknown> = {}) =>
  validTx({ category: 'Keys', date: '2026-01-15', ...over });

describe('API keys', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const create = (user: { token: string }, body: Record<string, unknown>) =>
    app.http().post('/api/v1/api-keys').set(bearer(user)).send(body);
  const as = (who: { token: string }) => ({
    get: (path: string) => app.http().get(path).set(bearer(who)),
    post: (path: string) => app.http().post(path).set(bearer(who)),
    patch: (path: string) => app.http().patch(path).set(bearer(who)),
    delete: (path: string) => app.http().delete(path).set(bearer(who)),
  });
  const keyRow = async (id: string) =>
    (
      await app.sql.query(
        `SELECT user_id, name, prefix, key_hash, scopes, expires_at, last_used_at, revoked_at
         FROM api_keys WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const liveKeys = async (userId: string) =>
    Number(
      (
        await app.sql.query(
          `SELECT count(*) AS n FROM api_keys
           WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
          [userId],
        )
      ).rows[0].n,
    );
  const auditFor = async (entityId: string) =>
    (
      await app.sql.query(
        `SELECT action, actor_id, entity_type, changes, api_key_id FROM audit_logs
         WHERE entity_id = $1 ORDER BY at, id`,
        [entityId],
      )
    ).rows;

  describe('creation', () => {
    let analyst: TestUser;
    beforeAll(async () => {
      analyst = await createUser(app, admin, 'analyst');
    });

    it('answers 201 with the metadata, the key once, its prefix and a Location', async () => {
      const before = Date.now();
      const res = await create(analyst, {
        name: '  nightly import  ',
        scopes: ['transactions:write', 'transactions:read'],
      });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(
        ['createdAt', 'expiresAt', 'id', 'key', 'lastUsedAt', 'name', 'prefix', 'scopes'].sort(),
      );
      expect(res.body.key).toMatch(KEY_SHAPE);
      expect(res.body.prefix).toBe(keyOf(res).slice(0, 12));
      expect(res.body.name).toBe('nightly import');
      expect([...res.body.scopes].sort()).toEqual(['transactions:read', 'transactions:write']);
      expect(res.body.lastUsedAt).toBeNull();
      expect(res.headers.location).toBe(`/api/v1/api-keys/${res.body.id}`);
      // expiresAt defaults to 90 days ahead.
      const expires = Date.parse(res.body.expiresAt);
      expect(expires).toBeGreaterThanOrEqual(before + 90 * DAY_MS - 5_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 90 * DAY_MS + 5_000);
      expect(Math.abs(Date.parse(res.body.createdAt) - Date.now())).toBeLessThan(60_000);
    });

    it('stores only the SHA-256 of the key, never the key itself', async () => {
      const res = await create(analyst, { name: 'hash only', scopes: ['dashboard:read'] });
      expect(res.status).toBe(201);
      const row = await keyRow(res.body.id);
      expect(row.user_id).toBe(analyst.id);
      expect(row.prefix).toBe(keyOf(res).slice(0, 12));
      expect(
        Buffer.from(row.key_hash).equals(createHash('sha256').update(res.body.key).digest()),
      ).toBe(true);
      const dump = JSON.stringify(
        (await app.sql.query(`SELECT * FROM api_keys WHERE id = $1`, [res.body.id])).rows,
      );
      expect(dump).not.toContain(res.body.key);
      expect(dump).not.toContain(keyOf(res).slice(12));
    });

    it('gives every key 256 fresh bits: two keys never share anything past their prefix', async () => {
      const [a, b] = await Promise.all([
        create(analyst, { name: 'a', scopes: ['dashboard:read'] }),
        create(analyst, { name: 'b', scopes: ['dashboard:read'] }),
      ]);
      expect(a.body.key).not.toBe(b.body.key);
      expect(Buffer.from(keyOf(a).slice(4), 'base64url')).toHaveLength(32);
    });

    it('never shows the key again: GET one and the list carry metadata only', async () => {
      const made = await create(analyst, { name: 'shown once', scopes: ['dashboard:read'] });
      const one = await as(analyst).get(`/api/v1/api-keys/${made.body.id}`).expect(200);
      expect(one.body).not.toHaveProperty('key');
      expect(JSON.stringify(one.body)).not.toContain(keyOf(made).slice(12));
      const { key: _key, ...metadata } = made.body;
      expect(one.body).toEqual(metadata);
      const list = await as(analyst).get('/api/v1/api-keys?limit=100').expect(200);
      expect(list.body.meta).toMatchObject({ page: 1, limit: 100 });
      expect(idsOf(list)).toContain(made.body.id);
      for (const k of list.body.data) expect(k).not.toHaveProperty('key');
      expect(JSON.stringify(list.body)).not.toContain(keyOf(made).slice(12));
    });

    it('accepts an expiresAt just inside 365 days', async () => {
      const at = new Date(Date.now() + 365 * DAY_MS - 60_000).toISOString();
      const res = await create(analyst, {
        name: 'a year',
        scopes: ['dashboard:read'],
        expiresAt: at,
      });
      expect(res.status).toBe(201);
      expect(res.body.expiresAt).toBe(at);
    });

    it('accepts an expiresAt with a UTC offset and answers the same instant in UTC', async () => {
      const utc = new Date(Math.floor((Date.now() + 30 * DAY_MS) / 1000) * 1000);
      // The same instant written in UTC+02:00.
      const local = new Date(utc.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
      const res = await create(analyst, {
        name: 'offset',
        scopes: ['dashboard:read'],
        expiresAt: local,
      });
      expect(res.status).toBe(201);
      expect(res.body.expiresAt).toBe(utc.toISOString());
    });

    it('accepts an explicit expiresAt within 365 days and returns it', async () => {
      const at = new Date(Date.now() + 30 * DAY_MS).toISOString();
      const res = await create(analyst, {
        name: 'thirty days',
        scopes: ['dashboard:read'],
        expiresAt: at,
      });
      expect(res.status).toBe(201);
      expect(res.body.expiresAt).toBe(at);
    });

    it.each([
      ['more than 365 days ahead', () => new Date(Date.now() + 366 * DAY_MS).toISOString()],
      ['in the past', () => new Date(Date.now() - 60_000).toISOString()],
      ['now-ish (already passed on arrival)', () => new Date(Date.now() - 1).toISOString()],
      ['not a date', () => 'next tuesday'],
      ['an impossible date', () => '2027-02-30T00:00:00Z'],
      ['a number', () => Date.now() + DAY_MS],
      [
        'an ISO week date (valid ISO 8601, no instant)',
        () => `${new Date().getUTCFullYear() + 1}-W01-1`,
      ],
      ['an ISO ordinal date', () => `${new Date().getUTCFullYear() + 1}-032`],
      ['in ISO basic format', () => `${new Date().getUTCFullYear() + 1}0101T000000Z`],
      ['an array', () => [new Date(Date.now() + DAY_MS).toISOString()]],
      // Read in the server's own zone, it would name a different instant on every server.
      [
        'without a time zone',
        () => new Date(Date.now() + 30 * DAY_MS).toISOString().replace(/Z$/, ''),
      ],
      ['without a time zone or seconds', () => `${new Date().getUTCFullYear() + 1}-01-01T12:00`],
      ['that is a date without a time', () => `${new Date().getUTCFullYear() + 1}-01-01`],
    ])('refuses an expiresAt %s with 400 naming expiresAt', async (_label, at) => {
      const res = await create(analyst, {
        name: 'bad expiry',
        scopes: ['dashboard:read'],
        expiresAt: at(),
      });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual(['expiresAt']);
    });

    it.each([
      ['unknown', ['transactions:delete']],
      ['empty', []],
      ['duplicated', ['dashboard:read', 'dashboard:read']],
      ['not an array', 'dashboard:read'],
      ['nested', [['dashboard:read']]],
      ['wrong case', ['Dashboard:Read']],
      ['non-strings', [1, true]],
      ['oversized (10,000 entries)', Array.from({ length: 10_000 }, () => 'dashboard:read')],
    ])('refuses %s scopes with 400 naming scopes', async (_label, scopes) => {
      const res = await create(analyst, { name: 'bad scopes', scopes });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain('scopes');
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['blank', '   '],
      ['101 characters', 'x'.repeat(101)],
      ['a number', 42],
      ['huge (100 kB)', 'x'.repeat(100_000)],
    ])('refuses a %s name with 400 naming name', async (_label, name) => {
      const res = await create(analyst, { name, scopes: ['dashboard:read'] });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain('name');
    });

    it('accepts a name of 100 code points (emoji count once)', async () => {
      const res = await create(analyst, { name: '🔑'.repeat(100), scopes: ['dashboard:read'] });
      expect(res.status).toBe(201);
    });

    it.each([
      ['userId (a key for someone else)', { userId: randomUUID() }],
      ['key (a chosen key)', { key: `fin_${'A'.repeat(43)}` }],
      ['prefix', { prefix: 'fin_AAAAAAAA' }],
      ['hash', { hash: '00' }],
      ['revokedAt', { revokedAt: null }],
      ['lastUsedAt', { lastUsedAt: new Date().toISOString() }],
      ['id', { id: randomUUID() }],
      ['__proto__', JSON.parse('{"__proto__": {"scopes": ["users:write"]}}')],
    ])('refuses mass assignment of %s with 400 and creates nothing', async (_label, extra) => {
      const before = await liveKeys(analyst.id);
      const res = await create(analyst, { name: 'mass', scopes: ['dashboard:read'], ...extra });
      expectProblem(res, 400);
      expect(await liveKeys(analyst.id)).toBe(before);
    });

    it('refuses a NUL character in the name with 400, creating nothing', async () => {
      const before = await liveKeys(analyst.id);
      expectProblem(
        await create(analyst, { name: 'nul\u0000key', scopes: ['dashboard:read'] }),
        400,
      );
      expect(await liveKeys(analyst.id)).toBe(before);
    });

    it('refuses a form-encoded body with 415', async () => {
      const res = await app
        .http()
        .post('/api/v1/api-keys')
        .set(bearer(analyst))
        .type('form')
        .send('name=x&scopes=dashboard:read');
      expectProblem(res, 415);
    });

    it.each([
      ['viewer', 'users:write'],
      ['viewer', 'audit:read'],
      ['viewer', 'transactions:write'],
      ['analyst', 'users:write'],
      ['analyst', 'audit:read'],
      ['auditor', 'transactions:write'],
      ['auditor', 'users:write'],
    ] as const)(
      'refuses a %s a key with %s (its role cannot use it) with 422',
      async (role, scope) => {
        const user = await createUser(app, admin, role);
        const res = await create(user, {
          name: 'beyond role',
          scopes: ['transactions:read', scope],
        });
        expectProblem(res, 422);
        expect(res.body.detail).toContain(scope);
        expect(await liveKeys(user.id)).toBe(0);
      },
    );

    it('lets each role have exactly the scopes its routes need', async () => {
      const expected = {
        admin: [
          'transactions:read',
          'transactions:write',
          'dashboard:read',
          'users:read',
          'users:write',
          'audit:read',
        ],
        analyst: ['transactions:read', 'transactions:write', 'dashboard:read', 'users:read'],
        viewer: ['transactions:read', 'dashboard:read', 'users:read'],
        auditor: ['transactions:read', 'dashboard:read', 'users:read', 'audit:read'],
      };
      for (const [role, scopes] of Object.entries(expected)) {
        const user =
          role === 'admin'
            ? await createUser(app, admin, 'admin')
            : await createUser(app, admin, role as 'viewer');
        await create(user, { name: 'all usable', scopes }).expect(201);
      }
    });

    describe('at most 20 live keys', () => {
      it('refuses the 21st live key with 422, and counts neither revoked nor expired keys', async () => {
        const user = await createUser(app, admin, 'viewer');
        const keys: TestKey[] = [];
        for (let i = 0; i < 20; i++) keys.push(await createApiKey(app, user, ['dashboard:read']));
        const over = await create(user, { name: 'one too many', scopes: ['dashboard:read'] });
        expectProblem(over, 422);
        expect(over.body.detail).toMatch(/20/);
        await as(user).delete(`/api/v1/api-keys/${keys[0].id}`).expect(204);
        await create(user, { name: 'freed by revoke', scopes: ['dashboard:read'] }).expect(201);
        expectProblem(await create(user, { name: 'full again', scopes: ['dashboard:read'] }), 422);
        // An expired key is not live either.
        await app.sql.query(
          `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
          [keys[1].id],
        );
        await create(user, { name: 'freed by expiry', scopes: ['dashboard:read'] }).expect(201);
        expect(await liveKeys(user.id)).toBe(20);
      });

      it('ends 25 concurrent creations at 0 keys with exactly 20 live keys (20 × 201, 5 × 422)', async () => {
        const user = await createUser(app, admin, 'analyst');
        const results = await Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            create(user, { name: `race ${i}`, scopes: ['transactions:read'] }),
          ),
        );
        const statuses = results.map((r) => r.status).sort();
        expect(statuses.filter((s) => s === 201)).toHaveLength(20);
        expect(statuses.filter((s) => s === 422)).toHaveLength(5);
        expect(await liveKeys(user.id)).toBe(20);
      });
    });
  });

  describe('use', () => {
    let analyst: TestUser;
    let readKey: TestKey;
    let writeKey: TestKey;

    beforeAll(async () => {
      analyst = await createUser(app, admin, 'analyst');
      readKey = await createApiKey(app, analyst, ['transactions:read']);
      writeKey = await createApiKey(app, analyst, ['transactions:write', 'transactions:read']);
    });

    it('works as a Bearer on a route within its scopes, as its owner', async () => {
      const made = await as(writeKey).post('/api/v1/transactions').send(tx()).expect(201);
      expect(made.body.ownerId).toBe(analyst.id);
      const got = await as(readKey).get(`/api/v1/transactions/${made.body.id}`).expect(200);
      expect(got.body.id).toBe(made.body.id);
      const list = await as(readKey).get('/api/v1/transactions').expect(200);
      expect((list.body.data as { ownerId: string }[]).every((t) => t.ownerId === analyst.id)).toBe(
        true,
      );
      const csv = await as(readKey).get('/api/v1/transactions/export').expect(200);
      expect(csv.text).toContain(made.body.id);
    });

    it('answers a route outside its scopes with 403 naming the missing scope', async () => {
      const write = await as(readKey).post('/api/v1/transactions').send(tx());
      expectProblem(write, 403);
      expect(write.body.detail).toContain('transactions:write');
      const dash = await as(readKey).get('/api/v1/dashboard/summary');
      expectProblem(dash, 403);
      expect(dash.body.detail).toContain('dashboard:read');
      const user = await as(readKey).get(`/api/v1/users/${analyst.id}`);
      expectProblem(user, 403);
      expect(user.body.detail).toContain('users:read');
      const imp = await as(readKey)
        .post('/api/v1/transactions/import')
        .set('Content-Type', 'text/csv')
        .send('date,type,amount,category\n2026-01-01,income,1.00,x\n');
      expectProblem(imp, 403);
      expect(imp.body.detail).toContain('transactions:write');
    });

    it('does not let transactions:write read (scopes are not implied by one another)', async () => {
      const writeOnly = await createApiKey(app, analyst, ['transactions:write']);
      const res = await as(writeOnly).get('/api/v1/transactions');
      expectProblem(res, 403);
      expect(res.body.detail).toContain('transactions:read');
    });

    it.each([
      ['get', '/api/v1/auth/me'],
      ['post', '/api/v1/auth/password'],
      ['post', '/api/v1/auth/refresh'],
      ['post', '/api/v1/auth/logout'],
      ['post', '/api/v1/auth/login'],
      ['post', '/api/v1/api-keys'],
      ['get', '/api/v1/api-keys'],
    ] as const)('refuses a key on %s %s with 403', async (method, path) => {
      const all = await createApiKey(app, admin, [
        'transactions:read',
        'transactions:write',
        'dashboard:read',
        'users:read',
        'users:write',
        'audit:read',
      ]);
      const before = await liveKeys(admin.id);
      const res = await as(all)
        [method](path)
        .send(
          method === 'post'
            ? path.endsWith('password')
              ? { currentPassword: admin.password, newPassword: 'hijacked-password' }
              : path.endsWith('api-keys')
                ? { name: 'minted by a key', scopes: ['users:write'] }
                : path.endsWith('login')
                  ? { email: admin.email, password: admin.password }
                  : { refreshToken: admin.refreshToken }
            : undefined,
        );
      expectProblem(res, 403);
      expect(await liveKeys(admin.id)).toBe(before);
    });

    it('refuses a key on GET and DELETE /api-keys/:id with 403, its own id included', async () => {
      const own = await createApiKey(app, analyst, ['transactions:read']);
      expectProblem(await as(own).get(`/api/v1/api-keys/${own.id}`), 403);
      expectProblem(await as(own).delete(`/api/v1/api-keys/${own.id}`), 403);
      expectProblem(await as(own).delete(`/api/v1/api-keys/${readKey.id}`), 403);
      expect((await keyRow(readKey.id)).revoked_at).toBeNull();
      expect((await keyRow(own.id)).revoked_at).toBeNull();
    });

    it('keeps the password unchanged after a key tried /auth/password', async () => {
      const user = await createUser(app, admin, 'analyst');
      const key = await createApiKey(app, user, ['transactions:read']);
      expectProblem(
        await as(key)
          .post('/api/v1/auth/password')
          .send({ currentPassword: user.password, newPassword: 'hijacked-password' }),
        403,
      );
      await app
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(200);
    });

    it('answers a revoked key with 401 at once, and keeps it dead', async () => {
      const key = await createApiKey(app, analyst, ['transactions:read']);
      await as(key).get('/api/v1/transactions').expect(200);
      await as(analyst).delete(`/api/v1/api-keys/${key.id}`).expect(204);
      expectProblem(await as(key).get('/api/v1/transactions'), 401);
      expectProblem(await as(key).get('/api/v1/transactions'), 401);
      // A second revocation finds nothing to revoke.
      expectProblem(await as(analyst).delete(`/api/v1/api-keys/${key.id}`), 404);
      expectProblem(await as(analyst).get(`/api/v1/api-keys/${key.id}`), 404);
    });

    it('answers an expired key with 401', async () => {
      const key = await createApiKey(app, analyst, ['transactions:read'], {
        expiresAt: new Date(Date.now() + 1_500).toISOString(),
      });
      await as(key).get('/api/v1/transactions').expect(200);
      await sleep(2_000);
      expectProblem(await as(key).get('/api/v1/transactions'), 401);
      // An expired key is still listed (its owner sees it lapse) and can be revoked.
      const listed = await as(analyst).get('/api/v1/api-keys?limit=100').expect(200);
      expect(idsOf(listed)).toContain(key.id);
      await as(analyst).delete(`/api/v1/api-keys/${key.id}`).expect(204);
    });

    it('revokes the keys of a deactivated owner at once, for good: a reactivation does not revive them', async () => {
      const user = await createUser(app, admin, 'analyst');
      const key = await createApiKey(app, user, ['transactions:read']);
      const other = await createApiKey(app, user, ['dashboard:read']);
      await as(key).get('/api/v1/transactions').expect(200);
      await deactivate(app, admin, user);
      expectProblem(await as(key).get('/api/v1/transactions'), 401);
      for (const k of [key, other]) {
        expect((await keyRow(k.id)).revoked_at).toBeInstanceOf(Date);
        expect((await auditFor(k.id)).map((e) => [e.action, e.actor_id])).toEqual([
          ['api_key.create', user.id],
          ['api_key.revoke', admin.id],
        ]);
      }
      await as(admin).patch(`/api/v1/users/${user.id}`).send({ isActive: true }).expect(200);
      expectProblem(await as(key).get('/api/v1/transactions'), 401);
      expectProblem(await as(other).get('/api/v1/dashboard/summary'), 401);
      // Gone from the owner's list too; new keys work as usual.
      const back = await login(app, user.email, user.password);
      const listed = await as({ token: back.accessToken }).get('/api/v1/api-keys').expect(200);
      expect(idsOf(listed)).toEqual([]);
      const fresh = await createApiKey(app, { token: back.accessToken }, ['transactions:read']);
      await as(fresh).get('/api/v1/transactions').expect(200);
    });

    it('narrows a key at once when its owner is demoted, and widens it back on promotion', async () => {
      const user = await createUser(app, admin, 'analyst');
      const key = await createApiKey(app, user, ['transactions:write', 'transactions:read']);
      await as(key).post('/api/v1/transactions').send(tx()).expect(201);
      await as(admin).patch(`/api/v1/users/${user.id}`).send({ role: 'viewer' }).expect(200);
      expectProblem(await as(key).post('/api/v1/transactions').send(tx()), 403);
      await as(key).get('/api/v1/transactions').expect(200);
      await as(admin).patch(`/api/v1/users/${user.id}`).send({ role: 'auditor' }).expect(200);
      expectProblem(await as(key).post('/api/v1/transactions').send(tx()), 403);
      await as(admin).patch(`/api/v1/users/${user.id}`).send({ role: 'analyst' }).expect(200);
      await as(key).post('/api/v1/transactions').send(tx()).expect(201);
    });

    it('does not widen a key when its owner is promoted: a viewer key stays within its scopes', async () => {
      const user = await createUser(app, admin, 'viewer');
      const key = await createApiKey(app, user, ['transactions:read']);
      await as(admin).patch(`/api/v1/users/${user.id}`).send({ role: 'admin' }).expect(200);
      const res = await as(key).get('/api/v1/users');
      expectProblem(res, 403);
      expect(res.body.detail).toContain('users:read');
      expectProblem(await as(key).post('/api/v1/transactions').send(tx()), 403);
      expectProblem(await as(key).get('/api/v1/audit-logs'), 403);
      // What it has it may use with the new role's reach.
      await as(key).get(`/api/v1/transactions?ownerId=${admin.id}`).expect(200);
    });

    it('lets an admin key with transactions:write PATCH a row, and an analyst key not (role first)', async () => {
      const adminKey = await createApiKey(app, admin, ['transactions:write', 'transactions:read']);
      const made = await as(adminKey).post('/api/v1/transactions').send(tx()).expect(201);
      await as(adminKey)
        .patch(`/api/v1/transactions/${made.body.id}`)
        .send({ notes: 'patched by key' })
        .expect(200);
      const res = await as(writeKey)
        .patch(`/api/v1/transactions/${made.body.id}`)
        .send({ notes: 'x' });
      expectProblem(res, 403);
    });

    it('does not let an admin key with users:write set a password (its owner’s or anyone’s)', async () => {
      const owner = await createUser(app, admin, 'admin');
      const other = await createUser(app, admin, 'viewer');
      const key = await createApiKey(app, owner, ['users:write', 'users:read']);
      const hashes = async () =>
        (
          await app.sql.query(
            `SELECT id, password_hash FROM users WHERE id IN ($1, $2) ORDER BY id`,
            [owner.id, other.id],
          )
        ).rows;
      const before = await hashes();
      for (const target of [owner, other]) {
        const res = await as(key)
          .patch(`/api/v1/users/${target.id}`)
          .send({ password: 'taken-over-password' });
        expectProblem(res, 403);
        expect(res.body.detail).toMatch(/password/i);
        // Not even alongside an allowed change.
        expectProblem(
          await as(key)
            .patch(`/api/v1/users/${target.id}`)
            .send({ name: 'renamed', password: 'taken-over-password' }),
          403,
        );
      }
      expect(await hashes()).toEqual(before);
      await app
        .http()
        .post('/api/v1/auth/login')
        .send({ email: owner.email, password: 'taken-over-password' })
        .expect(401);
      // The key keeps its other user writes, and a session still sets passwords.
      const renamed = await as(key)
        .patch(`/api/v1/users/${other.id}`)
        .send({ name: 'Renamed by key' });
      expect(renamed.status).toBe(200);
      await as(owner)
        .patch(`/api/v1/users/${other.id}`)
        .send({ password: 'set-by-session' })
        .expect(200);
    });

    describe('a key with users:write creates no admin and sets no password', () => {
      let key: TestKey;
      const email = () => `bykey-${randomBytes(4).toString('hex')}@test.local`;
      const userByEmail = async (address: string) =>
        (await app.sql.query(`SELECT role FROM users WHERE email = $1`, [address])).rows;
      beforeAll(async () => {
        const owner = await createUser(app, admin, 'admin');
        key = await createApiKey(app, owner, ['users:write', 'users:read']);
      });

      it.each([
        ['an admin', { role: 'admin' }, 'API keys cannot give the admin role; sign in instead'],
        [
          'a user with a password',
          { role: 'viewer', password: 'chosen-password' },
          'API keys cannot set passwords; sign in instead',
        ],
        [
          'an admin with a password',
          { role: 'admin', password: 'chosen-password' },
          'API keys cannot set passwords or give the admin role; sign in instead',
        ],
      ])(
        'refuses to create %s with 403 saying why, creating nothing',
        async (_label, body, why) => {
          const address = email();
          const res = await as(key)
            .post('/api/v1/users')
            .send({ name: 'By key', email: address, ...body });
          expectProblem(res, 403);
          expect(res.body.detail).toBe(why);
          expect(await userByEmail(address)).toEqual([]);
        },
      );

      it('creates a non-admin without a password, who cannot sign in until a signed-in admin sets one', async () => {
        const address = email();
        const res = await as(key)
          .post('/api/v1/users')
          .send({ name: 'By key', email: address, role: 'analyst' });
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ email: address, role: 'analyst', isActive: true });
        for (const guess of ['', 'password', 'undefined', 'null'])
          await app
            .http()
            .post('/api/v1/auth/login')
            .send({ email: address, password: guess.padEnd(8, 'x') })
            .expect(401);
        await as(admin)
          .patch(`/api/v1/users/${res.body.id}`)
          .send({ password: 'set-by-an-admin' })
          .expect(200);
        await app
          .http()
          .post('/api/v1/auth/login')
          .send({ email: address, password: 'set-by-an-admin' })
          .expect(200);
      });

      it('refuses to promote a user to admin with 403 saying why, changing nothing', async () => {
        const target = await createUser(app, admin, 'viewer');
        const res = await as(key).patch(`/api/v1/users/${target.id}`).send({ role: 'admin' });
        expectProblem(res, 403);
        expect(res.body.detail).toBe('API keys cannot give the admin role; sign in instead');
        expect(await userByEmail(target.email)).toEqual([{ role: 'viewer' }]);
        // Other roles, and the same promotion from a signed-in session, still work.
        await as(key).patch(`/api/v1/users/${target.id}`).send({ role: 'analyst' }).expect(200);
        await as(admin).patch(`/api/v1/users/${target.id}`).send({ role: 'admin' }).expect(200);
      });

      it('refuses to rename, demote or deactivate an admin with 403 saying why, changing nothing', async () => {
        const target = await createUser(app, admin, 'admin');
        const row = async () =>
          (
            await app.sql.query(`SELECT name, role, is_active FROM users WHERE id = $1`, [
              target.id,
            ])
          ).rows[0];
        const before = await row();
        for (const change of [
          { name: 'Renamed by key' },
          { role: 'viewer' },
          { isActive: false },
        ]) {
          const res = await as(key).patch(`/api/v1/users/${target.id}`).send(change);
          expectProblem(res, 403);
          expect(res.body.detail).toBe('API keys cannot change an admin; sign in instead');
        }
        expect(await row()).toEqual(before);
        // The target's own session still works (not deactivated, tokens not revoked).
        await as(target).get('/api/v1/auth/me').expect(200);
        // A signed-in admin still may.
        await as(admin).patch(`/api/v1/users/${target.id}`).send({ role: 'viewer' }).expect(200);
      });

      it('still requires a password from a signed-in session (400 naming it with the other fields)', async () => {
        const res = await as(admin)
          .post('/api/v1/users')
          .send({ name: '', email: email(), role: 'viewer' });
        expectProblem(res, 400, ['name', 'password']);
      });
    });

    it('does not let an analyst key write for another owner (ownership rules still apply)', async () => {
      const res = await as(writeKey)
        .post('/api/v1/transactions')
        .send(tx({ ownerId: admin.id }));
      expectProblem(res, 403);
    });

    it.each([
      ['too short', 'fin_abc'],
      ['one character short', `fin_${'A'.repeat(42)}`],
      ['one character long', `fin_${'A'.repeat(44)}`],
      ['well-formed but unknown', `fin_${randomBytes(32).toString('base64url')}`],
      ['bad alphabet', `fin_${'+'.repeat(43)}`],
      ['with a NUL-like escape', `fin_${'A'.repeat(40)}%00x`],
      ['prefix only', 'fin_'],
      ['SQL', `fin_' OR '1'='1`],
      ['a known key with junk appended', 'SELF+x'],
      ['a known key in lower case', 'SELF_LOWER'],
    ])('answers a %s fin_ token with the same 401', async (_label, token) => {
      const actual =
        token === 'SELF+x'
          ? `${readKey.token}x`
          : token === 'SELF_LOWER'
            ? readKey.token.toLowerCase() === readKey.token
              ? `${readKey.token.slice(0, -1)}!`
              : readKey.token.toLowerCase()
            : token;
      const res = await app
        .http()
        .get('/api/v1/transactions')
        .set('Authorization', `Bearer ${actual}`);
      expectProblem(res, 401);
      const missing = await app.http().get('/api/v1/transactions');
      expect(problemCore(res)).toEqual(problemCore(missing));
    });

    it('gives unknown, revoked, expired and deactivated-owner keys one indistinguishable 401', async () => {
      const user = await createUser(app, admin, 'analyst');
      const revoked = await createApiKey(app, user, ['transactions:read']);
      await as(user).delete(`/api/v1/api-keys/${revoked.id}`).expect(204);
      const expired = await createApiKey(app, user, ['transactions:read']);
      await app.sql.query(
        `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [expired.id],
      );
      const other = await createUser(app, admin, 'analyst');
      const orphan = await createApiKey(app, other, ['transactions:read']);
      await deactivate(app, admin, other);
      const unknown = `fin_${randomBytes(32).toString('base64url')}`;
      const bodies = [];
      for (const token of [unknown, revoked.token, expired.token, orphan.token]) {
        const res = await app
          .http()
          .get('/api/v1/transactions')
          .set('Authorization', `Bearer ${token}`);
        expectProblem(res, 401);
        bodies.push(problemCore(res));
      }
      for (const body of bodies) expect(body).toEqual(bodies[0]);
    });
  });

  describe('management', () => {
    let analyst: TestUser;
    let viewer: TestUser;
    let analystKey: TestKey;

    beforeAll(async () => {
      [analyst, viewer] = await Promise.all([
        createUser(app, admin, 'analyst'),
        createUser(app, admin, 'viewer'),
      ]);
      analystKey = await createApiKey(app, analyst, ['transactions:read']);
    });

    it('lists only the caller’s own keys by default', async () => {
      const viewerKey = await createApiKey(app, viewer, ['dashboard:read']);
      const res = await as(viewer).get('/api/v1/api-keys').expect(200);
      expect(idsOf(res)).toEqual([viewerKey.id]);
      expect(res.body.meta).toMatchObject({ page: 1, total: 1, totalPages: 1 });
    });

    it('lets an admin list another user’s keys with userId= (any case), and revoke them', async () => {
      const res = await as(admin)
        .get(`/api/v1/api-keys?userId=${analyst.id.toUpperCase()}`)
        .expect(200);
      expect(idsOf(res)).toContain(analystKey.id);
      const one = await as(admin).get(`/api/v1/api-keys/${analystKey.id}`).expect(200);
      expect(one.body.id).toBe(analystKey.id);
      const key = await createApiKey(app, analyst, ['transactions:read']);
      await as(key).get('/api/v1/transactions').expect(200);
      await as(admin).delete(`/api/v1/api-keys/${key.id}`).expect(204);
      expectProblem(await as(key).get('/api/v1/transactions'), 401);
      const [entry] = (await auditFor(key.id)).filter((e) => e.action === 'api_key.revoke');
      expect(entry.actor_id).toBe(admin.id);
    });

    it('revokes once under concurrent DELETEs: one 204, the rest 404, one audit entry', async () => {
      const key = await createApiKey(app, analyst, ['transactions:read']);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? as(admin) : as(analyst)).delete(`/api/v1/api-keys/${key.id}`),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([204, 404, 404, 404, 404, 404, 404, 404]);
      const revokes = (await auditFor(key.id)).filter((e) => e.action === 'api_key.revoke');
      expect(revokes).toHaveLength(1);
    });

    it('does not let an auditor (organisation reader, not admin) see or revoke others’ keys', async () => {
      const auditor = await createUser(app, admin, 'auditor');
      expectProblem(await as(auditor).get(`/api/v1/api-keys?userId=${analyst.id}`), 403);
      expectProblem(await as(auditor).get(`/api/v1/api-keys/${analystKey.id}`), 404);
      expectProblem(await as(auditor).delete(`/api/v1/api-keys/${analystKey.id}`), 404);
      expect((await keyRow(analystKey.id)).revoked_at).toBeNull();
    });

    it('lets a viewer key with users:read read its owner only (another id is a 404)', async () => {
      const key = await createApiKey(app, viewer, ['users:read']);
      const self = await as(key).get(`/api/v1/users/${viewer.id}`).expect(200);
      expect(self.body.email).toBe(viewer.email);
      expectProblem(await as(key).get(`/api/v1/users/${analyst.id}`), 404);
      expectProblem(await as(key).get('/api/v1/users'), 403);
    });

    it('answers an admin listing an unknown user’s keys with an empty page', async () => {
      const res = await as(admin).get(`/api/v1/api-keys?userId=${randomUUID()}`).expect(200);
      expect(res.body.data).toEqual([]);
    });

    it('answers a non-admin asking for another user’s keys with 403, whether that user exists or not', async () => {
      const real = await as(viewer).get(`/api/v1/api-keys?userId=${analyst.id}`);
      const fake = await as(viewer).get(`/api/v1/api-keys?userId=${randomUUID()}`);
      expectProblem(real, 403);
      expectProblem(fake, 403);
      expect(problemCore(real)).toEqual(problemCore(fake));
      // Naming itself is fine.
      await as(viewer).get(`/api/v1/api-keys?userId=${viewer.id}`).expect(200);
      await as(viewer).get(`/api/v1/api-keys?userId=${viewer.id.toUpperCase()}`).expect(200);
    });

    it.each([["' OR 1=1 --"], ['00000000-0000-0000-0000-000000000000%27'], ['not-a-uuid'], ['']])(
      'refuses userId=%s with 400',
      async (userId) => {
        const res = await as(admin).get(`/api/v1/api-keys?userId=${encodeURIComponent(userId)}`);
        expectProblem(res, 400);
      },
    );

    it('refuses repeated or array-shaped userId and unknown parameters with 400', async () => {
      expectProblem(
        await as(admin).get(`/api/v1/api-keys?userId=${analyst.id}&userId=${viewer.id}`),
        400,
      );
      expectProblem(await as(admin).get(`/api/v1/api-keys?userId[]=${analyst.id}`), 400);
      expectProblem(await as(admin).get('/api/v1/api-keys?user=x'), 400);
    });

    it('answers someone else’s key id with 404, the same body as an unknown id', async () => {
      const other = await as(viewer).get(`/api/v1/api-keys/${analystKey.id}`);
      const missing = await as(viewer).get(`/api/v1/api-keys/${randomUUID()}`);
      expectProblem(other, 404);
      expectProblem(missing, 404);
      expect(problemCore(other)).toEqual(problemCore(missing));
      const del = await as(viewer).delete(`/api/v1/api-keys/${analystKey.id}`);
      expectProblem(del, 404);
      expect(problemCore(del)).toEqual(
        problemCore(await as(viewer).delete(`/api/v1/api-keys/${randomUUID()}`)),
      );
      expect((await keyRow(analystKey.id)).revoked_at).toBeNull();
      await as(analystKey).get('/api/v1/transactions').expect(200);
    });

    it('refuses a non-UUID key id with 400', async () => {
      expectProblem(await as(viewer).get('/api/v1/api-keys/not-a-uuid'), 400);
      expectProblem(await as(viewer).delete("/api/v1/api-keys/1' OR '1'='1"), 400);
    });

    it('pages the list newest first', async () => {
      const user = await createUser(app, admin, 'viewer');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await createApiKey(app, user, ['dashboard:read'])).id);
      const first = await as(user).get('/api/v1/api-keys?limit=2').expect(200);
      expect(idsOf(first)).toEqual([ids[2], ids[1]]);
      expect(first.body.meta).toMatchObject({ page: 1, limit: 2, total: 3, totalPages: 2 });
      const second = await as(user).get('/api/v1/api-keys?limit=2&page=2').expect(200);
      expect(idsOf(second)).toEqual([ids[0]]);
      const beyond = await as(user).get('/api/v1/api-keys?limit=2&page=5').expect(200);
      expect(beyond.body).toMatchObject({ data: [], meta: { total: 3 } });
    });
  });

  describe('audit', () => {
    it('records api_key.create and api_key.revoke without the key or its hash', async () => {
      const user = await createUser(app, admin, 'analyst');
      const made = await create(user, { name: 'audited', scopes: ['transactions:read'] }).expect(
        201,
      );
      await as(user).delete(`/api/v1/api-keys/${made.body.id}`).expect(204);
      const entries = await auditFor(made.body.id);
      expect(entries.map((e) => e.action)).toEqual(['api_key.create', 'api_key.revoke']);
      for (const e of entries) {
        expect(e.actor_id).toBe(user.id);
        expect(e.entity_type).toBe('api_key');
        expect(e.api_key_id).toBeNull();
      }
      expect(entries[0].changes).toMatchObject({
        name: { before: null, after: 'audited' },
        scopes: { before: null, after: ['transactions:read'] },
      });
      const hash = createHash('sha256').update(made.body.key).digest();
      const dump = JSON.stringify(entries);
      expect(dump).not.toContain(keyOf(made).slice(4));
      expect(dump).not.toContain(hash.toString('hex'));
      expect(dump).not.toContain(hash.toString('base64'));
      expect(dump).not.toContain(hash.toString('base64url'));
      // The same entries through the API.
      const api = await as(admin)
        .get(`/api/v1/audit-logs?entityType=api_key&entityId=${made.body.id}`)
        .expect(200);
      expect(actionsOf(api)).toEqual(['api_key.revoke', 'api_key.create']);
      expect(JSON.stringify(api.body)).not.toContain(keyOf(made).slice(4));
    });

    it('puts the apiKeyId on entries a key writes and null on entries a session writes', async () => {
      const user = await createUser(app, admin, 'analyst');
      const key = await createApiKey(app, user, ['transactions:write']);
      const byKey = await as(key).post('/api/v1/transactions').send(tx()).expect(201);
      const bySession = await as(user).post('/api/v1/transactions').send(tx()).expect(201);
      const [keyEntry] = await auditFor(byKey.body.id);
      const [sessionEntry] = await auditFor(bySession.body.id);
      expect(keyEntry).toMatchObject({
        action: 'transaction.create',
        actor_id: user.id,
        api_key_id: key.id,
      });
      expect(sessionEntry).toMatchObject({
        action: 'transaction.create',
        actor_id: user.id,
        api_key_id: null,
      });
      const api = await as(admin).get(`/api/v1/audit-logs?entityId=${byKey.body.id}`).expect(200);
      expect(api.body.data[0]).toMatchObject({ apiKeyId: key.id, actorId: user.id });
      const apiSession = await as(admin)
        .get(`/api/v1/audit-logs?entityId=${bySession.body.id}`)
        .expect(200);
      expect(apiSession.body.data[0].apiKeyId).toBeNull();
    });

    it('puts the apiKeyId on import, update, delete and user entries written by keys', async () => {
      const user = await createUser(app, admin, 'analyst');
      const importKey = await createApiKey(app, user, ['transactions:write']);
      await as(importKey)
        .post('/api/v1/transactions/import')
        .set('Content-Type', 'text/csv')
        .send('date,type,amount,category\n2026-01-01,income,1.00,imported by key\n')
        .expect(201);
      const imported = (
        await app.sql.query(
          `SELECT api_key_id FROM audit_logs WHERE action = 'transaction.import' AND actor_id = $1`,
          [user.id],
        )
      ).rows;
      expect(imported).toEqual([{ api_key_id: importKey.id }]);

      const adminKey = await createApiKey(app, admin, ['transactions:write', 'users:write']);
      const made = await as(adminKey).post('/api/v1/transactions').send(tx()).expect(201);
      await as(adminKey)
        .patch(`/api/v1/transactions/${made.body.id}`)
        .send({ amount: '1.00' })
        .expect(200);
      await as(adminKey).delete(`/api/v1/transactions/${made.body.id}`).expect(204);
      await as(adminKey).post(`/api/v1/transactions/${made.body.id}/restore`).expect(200);
      const entries = await auditFor(made.body.id);
      expect(entries.map((e) => e.action)).toEqual([
        'transaction.create',
        'transaction.update',
        'transaction.delete',
        'transaction.restore',
      ]);
      for (const e of entries) expect(e.api_key_id).toBe(adminKey.id);
      const created = await as(adminKey)
        .post('/api/v1/users')
        .send({
          name: 'by key',
          email: `bykey-${randomBytes(3).toString('hex')}@test.local`,
          role: 'viewer',
        })
        .expect(201);
      const [userEntry] = await auditFor(created.body.id);
      expect(userEntry).toMatchObject({ action: 'user.create', api_key_id: adminKey.id });
    });

    it('filters the audit log by the api_key actions and entity type', async () => {
      const res = await as(admin)
        .get('/api/v1/audit-logs?action=api_key.create&entityType=api_key')
        .expect(200);
      expect(res.body.data.length).toBeGreaterThan(0);
      for (const e of res.body.data) expect(e.action).toBe('api_key.create');
    });
  });

  describe('lastUsedAt', () => {
    it('is null before use, the minute of the first use after it, and not rewritten within the minute', async () => {
      const user = await createUser(app, admin, 'viewer');
      const key = await createApiKey(app, user, ['dashboard:read']);
      expect((await keyRow(key.id)).last_used_at).toBeNull();
      const minuteBefore = Math.floor(Date.now() / 60_000) * 60_000;
      await as(key).get('/api/v1/dashboard/summary').expect(200);
      // Recorded off the request path: wait for it.
      const used = await readUntil<Date | null>(
        async () => (await keyRow(key.id)).last_used_at,
        (at) => Boolean(at),
      );
      expect(used).not.toBeNull();
      const at = (used as Date).getTime();
      expect(at % 60_000).toBe(0);
      expect(at).toBeGreaterThanOrEqual(minuteBefore);
      expect(at).toBeLessThanOrEqual(Date.now());
      const shown = await as(user).get(`/api/v1/api-keys/${key.id}`).expect(200);
      expect(Date.parse(shown.body.lastUsedAt)).toBe(at);

      // Further uses within the minute write no new row version (xmin stays).
      const xmin = async () =>
        (await app.sql.query(`SELECT xmin::text AS x FROM api_keys WHERE id = $1`, [key.id]))
          .rows[0].x;
      const version = await xmin();
      if (Math.floor(Date.now() / 60_000) * 60_000 !== at) return; // the minute turned over: nothing more to check
      for (let i = 0; i < 10; i++) await as(key).get('/api/v1/dashboard/summary').expect(200);
      await sleep(300);
      if (Math.floor(Date.now() / 60_000) * 60_000 !== at) return;
      expect(await xmin()).toBe(version);
    });

    it('is not touched by a revoked key', async () => {
      const user = await createUser(app, admin, 'viewer');
      const key = await createApiKey(app, user, ['dashboard:read']);
      await as(user).delete(`/api/v1/api-keys/${key.id}`).expect(204);
      expectProblem(await as(key).get('/api/v1/dashboard/summary'), 401);
      await sleep(300);
      expect((await keyRow(key.id)).last_used_at).toBeNull();
    });
  });
});
