import { randomBytes, randomUUID } from 'node:crypto';
import { ADMIN, startApp, type TestApp } from '../app';
import { bearer, createUser, login, loginAdmin, type Role, type TestUser } from '../factories';
import { fieldsOf } from '../problems';

const USER_KEYS = ['createdAt', 'email', 'id', 'isActive', 'name', 'role', 'updatedAt'];
const USERS = '/api/v1/users';

const uniqueEmail = (tag = 'user') => `${tag}-${randomBytes(4).toString('hex')}@test.local`;

interface Listed {
  id: string;
  role: string;
  isActive: boolean;
}
const rowsOf = (body: { data: Listed[] }) => body.data;
const idsOf = (body: { data: Listed[] }) => body.data.map((u) => u.id);

describe('users', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const newUser = (overrides: Record<string, unknown> = {}) => ({
    name: 'New Person',
    email: uniqueEmail(),
    password: 'a-good-password',
    role: 'viewer',
    ...overrides,
  });
  const create = (body: object, as: { token: string } = admin) =>
    app.http().post(USERS).set(bearer(as)).send(body);
  const list = (query: string, as: { token: string } = admin) =>
    app.http().get(`${USERS}?${query}`).set(bearer(as));
  const patch = (id: string, body: object, as: { token: string } = admin) =>
    app.http().patch(`${USERS}/${id}`).set(bearer(as)).send(body);

  describe('access by role', () => {
    let target: TestUser;
    beforeAll(async () => {
      target = await createUser(app, admin, 'viewer');
    });

    it('lets an admin create a user', async () => {
      await create(newUser()).expect(201);
    });

    it('lets an admin list users', async () => {
      await list('').expect(200);
    });

    it('lets an admin read any user', async () => {
      const res = await app.http().get(`${USERS}/${target.id}`).set(bearer(admin)).expect(200);
      expect(res.body.id).toBe(target.id);
    });

    it('lets an admin update any user', async () => {
      const res = await patch(target.id, { name: 'Renamed By Admin' }).expect(200);
      expect(res.body.name).toBe('Renamed By Admin');
    });

    describe.each<Role>(['analyst', 'viewer'])('as %s', (role) => {
      let caller: TestUser;
      beforeAll(async () => {
        caller = await createUser(app, admin, role);
      });

      it('is refused creating a user with 403, and nothing is created', async () => {
        const body = newUser();
        const res = await create(body, caller).expect(403);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const { rows } = await app.sql.query('SELECT 1 FROM users WHERE email = $1', [body.email]);
        expect(rows).toHaveLength(0);
      });

      it('is refused listing users with 403', async () => {
        await list('', caller).expect(403);
      });

      it('reads its own user with 200', async () => {
        const res = await app.http().get(`${USERS}/${caller.id}`).set(bearer(caller)).expect(200);
        expect(res.body).toMatchObject({ id: caller.id, role });
        expect(Object.keys(res.body).sort()).toEqual(USER_KEYS);
      });

      it("gets 404 for another user's id, the same as for an unknown id", async () => {
        const other = await app.http().get(`${USERS}/${target.id}`).set(bearer(caller)).expect(404);
        const unknown = await app
          .http()
          .get(`${USERS}/${randomUUID()}`)
          .set(bearer(caller))
          .expect(404);
        expect(other.body.detail).toBe(unknown.body.detail);
      });

      it('is refused updating another user with 403, and nothing changes', async () => {
        const before = await app.http().get(`${USERS}/${target.id}`).set(bearer(admin));
        await patch(target.id, { name: 'Hijacked' }, caller).expect(403);
        const after = await app.http().get(`${USERS}/${target.id}`).set(bearer(admin));
        expect(after.body.name).toBe(before.body.name);
      });

      it('is refused promoting itself to admin with 403', async () => {
        await patch(caller.id, { role: 'admin' }, caller).expect(403);
        const res = await app.http().get(`${USERS}/${caller.id}`).set(bearer(admin));
        expect(res.body.role).toBe(role);
      });
    });

    it.each([
      ['POST', USERS],
      ['GET', USERS],
      ['GET', `${USERS}/00000000-0000-4000-8000-000000000000`],
      ['PATCH', `${USERS}/00000000-0000-4000-8000-000000000000`],
    ])('answers %s %s without a token with 401', async (method, path) => {
      const req =
        method === 'POST'
          ? app.http().post(path).send(newUser())
          : method === 'PATCH'
            ? app.http().patch(path).send({ name: 'x' })
            : app.http().get(path);
      await req.expect(401);
    });
  });

  describe('create', () => {
    it('answers 201 with the user and a Location that reads it back', async () => {
      const body = newUser({ role: 'analyst', name: 'Ana Lyst' });
      const res = await create(body).expect(201);
      expect(Object.keys(res.body).sort()).toEqual(USER_KEYS);
      expect(res.body).toMatchObject({
        name: 'Ana Lyst',
        email: body.email,
        role: 'analyst',
        isActive: true,
      });
      expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.location).toBe(`/api/v1/users/${res.body.id}`);
      const back = await app.http().get(res.headers.location).set(bearer(admin)).expect(200);
      expect(back.body).toEqual(res.body);
    });

    it('lets the created user log in with its password', async () => {
      const body = newUser();
      await create(body).expect(201);
      await login(app, body.email, body.password);
    });

    it('never stores the password in clear', async () => {
      const body = newUser({ password: 'clear-text-canary-1' });
      await create(body).expect(201);
      const { rows } = await app.sql.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE email = $1',
        [body.email],
      );
      expect(rows[0].password_hash).toMatch(/^\$2[aby]\$/);
      expect(rows[0].password_hash).not.toContain('clear-text-canary-1');
    });

    it('stores the email in lower case', async () => {
      const email = uniqueEmail('Mixed.CASE');
      const res = await create(newUser({ email: email.toUpperCase() })).expect(201);
      expect(res.body.email).toBe(email.toLowerCase());
    });

    it('answers a duplicate email in another case with 409', async () => {
      const email = uniqueEmail('dup');
      await create(newUser({ email })).expect(201);
      const res = await create(newUser({ email: email.toUpperCase() })).expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.status).toBe(409);
    });

    it('answers the admin email with 409', async () => {
      await create(newUser({ email: ADMIN.email })).expect(409);
    });

    it('trims the name', async () => {
      const res = await create(newUser({ name: '   Trimmed Name \t' })).expect(201);
      expect(res.body.name).toBe('Trimmed Name');
    });

    it.each([
      ['empty', ''],
      ['only spaces', '    '],
      ['101 characters', 'n'.repeat(101)],
      ['101 emoji', '😀'.repeat(101)],
      ['not a string', 42],
    ])('rejects a name that is %s with 400 naming name', async (_label, name) => {
      const res = await create(newUser({ name })).expect(400);
      expect(fieldsOf(res)).toContain('name');
    });

    it('accepts a name of 100 characters', async () => {
      const res = await create(newUser({ name: 'n'.repeat(100) })).expect(201);
      expect(res.body.name).toHaveLength(100);
    });

    it('accepts a name of 100 emoji, counting code points', async () => {
      const name = '😀'.repeat(100);
      const res = await create(newUser({ name })).expect(201);
      expect(res.body.name).toBe(name);
    });

    it('rejects a password of 7 bytes with 400 naming password', async () => {
      const res = await create(newUser({ password: 'seven77' })).expect(400);
      expect(fieldsOf(res)).toEqual(['password']);
    });

    it('rejects a password of 73 bytes with 400 naming password', async () => {
      const res = await create(newUser({ password: 'p'.repeat(73) })).expect(400);
      expect(fieldsOf(res)).toEqual(['password']);
    });

    it('measures the password in bytes: four two-byte characters (8 bytes) are enough', async () => {
      const body = newUser({ password: 'éééé' });
      await create(body).expect(201);
      await login(app, body.email, body.password);
    });

    it('rejects an unknown body field with 400 naming it', async () => {
      const res = await create({ ...newUser(), nickname: 'nick' }).expect(400);
      expect(fieldsOf(res)).toContain('nickname');
    });

    it('rejects an id chosen by the client with 400', async () => {
      const res = await create({ ...newUser(), id: randomUUID() }).expect(400);
      expect(fieldsOf(res)).toContain('id');
    });

    it("rejects role 'superuser' with 400 naming role", async () => {
      const res = await create(newUser({ role: 'superuser' })).expect(400);
      expect(fieldsOf(res)).toEqual(['role']);
    });

    it('rejects an invalid email with 400 naming email', async () => {
      const res = await create(newUser({ email: 'not-an-email' })).expect(400);
      expect(fieldsOf(res)).toContain('email');
    });

    it('lists every offending field at once', async () => {
      const res = await create({ name: '', email: 'nope', password: 'x', role: 'boss' }).expect(
        400,
      );
      expect(new Set(fieldsOf(res))).toEqual(new Set(['name', 'email', 'password', 'role']));
      for (const error of res.body.errors) expect(typeof error.message).toBe('string');
    });

    it('rejects a body missing every field with 400 naming all four', async () => {
      const res = await create({}).expect(400);
      expect(new Set(fieldsOf(res))).toEqual(new Set(['name', 'email', 'password', 'role']));
    });
  });

  describe('list', () => {
    const tag = `zq${randomBytes(3).toString('hex')}`;
    const made: Record<string, { id: string; email: string }> = {};

    beforeAll(async () => {
      const seed: [string, Record<string, unknown>][] = [
        ['byName', { name: `Person ${tag.toUpperCase()} One`, role: 'analyst' }],
        ['byEmail', { email: uniqueEmail(`x.${tag}`), role: 'viewer' }],
        ['third', { name: `Third ${tag}`, role: 'viewer' }],
        ['fourth', { name: `Fourth ${tag}`, role: 'viewer' }],
        ['fifth', { name: `Fifth ${tag}`, role: 'analyst' }],
      ];
      for (const [key, overrides] of seed) {
        const res = await create(newUser(overrides)).expect(201);
        made[key] = res.body;
      }
      await patch(made.fourth.id, { isActive: false }).expect(200);
    });

    const countWhere = async (where: string, params: unknown[] = []) => {
      const { rows } = await app.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM users WHERE ${where}`,
        params,
      );
      return Number(rows[0].n);
    };

    it('returns data and page meta with defaults page 1 and limit 20', async () => {
      const res = await list('').expect(200);
      const total = await countWhere('true');
      expect(res.body.meta).toEqual({
        page: 1,
        limit: 20,
        total,
        totalPages: Math.ceil(total / 20),
      });
      expect(res.body.data).toHaveLength(Math.min(total, 20));
      for (const user of res.body.data) expect(Object.keys(user).sort()).toEqual(USER_KEYS);
    });

    it('filters by role', async () => {
      const res = await list('role=analyst&limit=100').expect(200);
      expect(rowsOf(res.body).length).toBeGreaterThan(0);
      expect(rowsOf(res.body).every((u) => u.role === 'analyst')).toBe(true);
      expect(res.body.meta.total).toBe(await countWhere(`role = 'analyst'`));
    });

    it('filters by isActive=false', async () => {
      const res = await list('isActive=false&limit=100').expect(200);
      const ids = idsOf(res.body);
      expect(ids).toContain(made.fourth.id);
      expect(rowsOf(res.body).every((u) => !u.isActive)).toBe(true);
      expect(res.body.meta.total).toBe(await countWhere('NOT is_active'));
    });

    it('filters by isActive=true', async () => {
      const res = await list('isActive=true&limit=100').expect(200);
      const ids = idsOf(res.body);
      expect(ids).not.toContain(made.fourth.id);
      expect(res.body.meta.total).toBe(await countWhere('is_active'));
    });

    it('finds q as a case-insensitive substring of the name or the email', async () => {
      const res = await list(`q=${tag.toUpperCase()}`).expect(200);
      const ids = idsOf(res.body).sort();
      expect(ids).toEqual(
        Object.values(made)
          .map((u) => u.id)
          .sort(),
      );
      expect(res.body.meta.total).toBe(5);
    });

    it('combines q with role and isActive', async () => {
      const res = await list(`q=${tag}&role=viewer&isActive=true`).expect(200);
      const ids = idsOf(res.body).sort();
      expect(ids).toEqual([made.byEmail.id, made.third.id].sort());
    });

    it('treats % and _ in q literally', async () => {
      const percent = await list('q=%25').expect(200);
      expect(percent.body.meta.total).toBe(0);
      const underscore = await list('q=_').expect(200);
      expect(underscore.body.meta.total).toBe(await countWhere(`strpos(name || email, '_') > 0`));
    });

    it('pages with page and limit and reports total and totalPages', async () => {
      const page1 = await list(`q=${tag}&limit=2&page=1`).expect(200);
      const page2 = await list(`q=${tag}&limit=2&page=2`).expect(200);
      const page3 = await list(`q=${tag}&limit=2&page=3`).expect(200);
      expect(page2.body.meta).toEqual({ page: 2, limit: 2, total: 5, totalPages: 3 });
      expect(page1.body.data).toHaveLength(2);
      expect(page2.body.data).toHaveLength(2);
      expect(page3.body.data).toHaveLength(1);
      const ids = [...page1.body.data, ...page2.body.data, ...page3.body.data].map(
        (u: { id: string }) => u.id,
      );
      expect(new Set(ids).size).toBe(5);
    });

    it('returns an empty page past the end with the same meta', async () => {
      const res = await list(`q=${tag}&limit=2&page=4`).expect(200);
      expect(res.body.data).toEqual([]);
      expect(res.body.meta).toEqual({ page: 4, limit: 2, total: 5, totalPages: 3 });
    });

    it('rejects an unknown query parameter with 400 naming it', async () => {
      const res = await list('rol=admin').expect(400);
      expect(fieldsOf(res)).toContain('rol');
    });

    it.each([
      ['a repeated role', 'role=admin&role=viewer'],
      ['an array-shaped role', 'role[]=admin'],
      ['a repeated isActive', 'isActive=true&isActive=false'],
      ['a repeated page', 'page=1&page=2'],
      ['a repeated q', 'q=a&q=b'],
      ['an object-shaped q', 'q[a]=b'],
    ])('rejects %s with 400', async (_label, query) => {
      await list(query).expect(400);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=2.5', 'limit'],
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['isActive=yes', 'isActive'],
      ['role=superuser', 'role'],
    ])('rejects %s with 400 naming %s', async (query, field) => {
      const res = await list(query).expect(400);
      expect(fieldsOf(res)).toContain(field);
    });

    it('accepts limit=100', async () => {
      const res = await list('limit=100').expect(200);
      expect(res.body.meta.limit).toBe(100);
    });
  });

  describe('read one', () => {
    it('answers a non-uuid id with 400', async () => {
      const res = await app.http().get(`${USERS}/not-a-uuid`).set(bearer(admin)).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('answers an unknown id with 404', async () => {
      await app.http().get(`${USERS}/${randomUUID()}`).set(bearer(admin)).expect(404);
    });
  });

  describe('update', () => {
    it('changes and trims the name', async () => {
      const user = await createUser(app, admin, 'viewer');
      const res = await patch(user.id, { name: '  New Name  ' }).expect(200);
      expect(res.body).toMatchObject({ id: user.id, name: 'New Name', role: 'viewer' });
      expect(Object.keys(res.body).sort()).toEqual(USER_KEYS);
    });

    it('changes the role', async () => {
      const user = await createUser(app, admin, 'viewer');
      const res = await patch(user.id, { role: 'analyst' }).expect(200);
      expect(res.body.role).toBe('analyst');
    });

    it('sets a new password that works for login and revokes the refresh tokens', async () => {
      const user = await createUser(app, admin, 'viewer');
      await patch(user.id, { password: 'reset-by-admin-1' }).expect(200);
      await login(app, user.email, 'reset-by-admin-1');
      await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: user.refreshToken })
        .expect(401);
    });

    it('does not let the email be changed', async () => {
      const user = await createUser(app, admin, 'viewer');
      const res = await patch(user.id, { email: uniqueEmail() }).expect(400);
      expect(fieldsOf(res)).toContain('email');
    });

    it.each([
      ['an unknown field', { nickname: 'x' }, 'nickname'],
      ["role 'superuser'", { role: 'superuser' }, 'role'],
      ['an empty name', { name: ' ' }, 'name'],
      ['a 101-character name', { name: 'n'.repeat(101) }, 'name'],
      ['a 73-byte password', { password: 'p'.repeat(73) }, 'password'],
      ['a 7-byte password', { password: 'p'.repeat(7) }, 'password'],
      ['isActive as a string', { isActive: 'false' }, 'isActive'],
    ])('rejects %s with 400 naming it', async (_label, body, field) => {
      const user = await createUser(app, admin, 'viewer');
      const res = await patch(user.id, body).expect(400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each(['name', 'role', 'isActive', 'password'])(
      'rejects %s: null with 400 naming it, and changes nothing',
      async (field) => {
        const user = await createUser(app, admin, 'analyst');
        const res = await patch(user.id, { [field]: null }).expect(400);
        expect(new Set(fieldsOf(res))).toEqual(new Set([field]));
        const after = await app.http().get(`${USERS}/${user.id}`).set(bearer(admin)).expect(200);
        expect(after.body).toMatchObject({ role: 'analyst', isActive: true });
        await login(app, user.email, user.password);
      },
    );

    it('answers an empty patch with 200 and the unchanged user', async () => {
      const user = await createUser(app, admin, 'viewer', { name: 'Unchanged' });
      const res = await patch(user.id, {}).expect(200);
      expect(res.body).toMatchObject({ id: user.id, name: 'Unchanged', role: 'viewer' });
    });

    it('answers a non-uuid id with 400', async () => {
      await patch('123', { name: 'x' }).expect(400);
    });

    it('answers an unknown id with 404', async () => {
      await patch(randomUUID(), { name: 'x' }).expect(404);
    });

    it('revokes the refresh tokens of a deactivated user', async () => {
      const user = await createUser(app, admin, 'analyst');
      await patch(user.id, { isActive: false }).expect(200);
      await patch(user.id, { isActive: true }).expect(200);
      await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: user.refreshToken })
        .expect(401);
    });

    it('refuses a refresh for a user while it is inactive', async () => {
      const user = await createUser(app, admin, 'analyst');
      await app.sql.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
      await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: user.refreshToken })
        .expect(401);
    });

    it('lists a deactivated user as inactive and keeps it (no hard delete)', async () => {
      const user = await createUser(app, admin, 'viewer');
      const res = await patch(user.id, { isActive: false }).expect(200);
      expect(res.body.isActive).toBe(false);
      await app.http().get(`${USERS}/${user.id}`).set(bearer(admin)).expect(200);
    });
  });

  describe('the last active admin', () => {
    it('cannot be demoted (409), and stays admin', async () => {
      const res = await patch(admin.id, { role: 'analyst' }).expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const me = await app.http().get('/api/v1/auth/me').set(bearer(admin)).expect(200);
      expect(me.body.role).toBe('admin');
    });

    it('cannot be deactivated (409), and stays active', async () => {
      await patch(admin.id, { isActive: false }).expect(409);
      await app.http().get('/api/v1/auth/me').set(bearer(admin)).expect(200);
    });

    it('can still be renamed', async () => {
      await patch(admin.id, { name: 'Still The Admin' }).expect(200);
    });

    it('can be kept admin by a no-op role change', async () => {
      await patch(admin.id, { role: 'admin', isActive: true }).expect(200);
    });

    it('is still the last one when the only other admin is inactive', async () => {
      const other = await createUser(app, admin, 'admin');
      await patch(other.id, { isActive: false }).expect(200);
      await patch(admin.id, { role: 'viewer' }).expect(409);
    });

    it('can be demoted once another active admin exists', async () => {
      const other = await createUser(app, admin, 'admin');
      await patch(admin.id, { role: 'analyst' }).expect(200);
      await app.http().get(USERS).set(bearer(admin)).expect(403);
      // Restore the bootstrapped admin, then make it the only active admin again.
      await patch(admin.id, { role: 'admin' }, other).expect(200);
      await patch(other.id, { isActive: false }).expect(200);
      await patch(admin.id, { isActive: false }).expect(409);
    });
  });
});
