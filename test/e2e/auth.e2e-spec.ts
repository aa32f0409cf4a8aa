import { randomUUID } from 'node:crypto';
import { ADMIN, startApp, type TestApp } from '../app';
import { bearer, createUser, login, loginAdmin, type TestUser } from '../factories';
import { craftToken, decodeHeader, decodePayload } from '../jwt';

const USER_KEYS = ['createdAt', 'email', 'id', 'isActive', 'name', 'role', 'updatedAt'];

/** Problem bodies differ only by request id; everything else must match exactly. */
const withoutRequestId = (body: Record<string, unknown>) => {
  const { requestId, ...rest } = body;
  expect(typeof requestId).toBe('string');
  return rest;
};

describe('auth', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const post = (path: string, body: object) => app.http().post(`/api/v1/auth/${path}`).send(body);
  const me = (token: string) =>
    app.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
  const setUser = (id: string, changes: object) =>
    app.http().patch(`/api/v1/users/${id}`).set(bearer(admin)).send(changes).expect(200);

  describe('login', () => {
    it('returns a bearer token pair, its lifetime and the user without any hash', async () => {
      const res = await post('login', ADMIN).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual([
        'accessToken',
        'expiresIn',
        'refreshToken',
        'tokenType',
        'user',
      ]);
      expect(res.body.tokenType).toBe('Bearer');
      expect(res.body.expiresIn).toBe(900);
      expect(Object.keys(res.body.user).sort()).toEqual(USER_KEYS);
      expect(res.body.user).toMatchObject({ email: ADMIN.email, role: 'admin', isActive: true });
      expect(JSON.stringify(res.body)).not.toMatch(/\$2[aby]\$/);
    });

    it('issues an HS256 access token whose subject is the user id', async () => {
      const res = await post('login', ADMIN).expect(200);
      expect(decodeHeader(res.body.accessToken).alg).toBe('HS256');
      const payload = decodePayload(res.body.accessToken);
      expect(payload.sub).toBe(res.body.user.id);
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    });

    it('issues an opaque refresh token of at least 256 bits', async () => {
      const res = await post('login', ADMIN).expect(200);
      expect(res.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      expect(String(res.body.refreshToken)).not.toContain('.');
    });

    it('stores refresh tokens only as hashes', async () => {
      const res = await post('login', ADMIN).expect(200);
      const { rows } = await app.sql.query<{ token_hash: string }>(
        'SELECT token_hash FROM refresh_tokens',
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.map((r) => r.token_hash)).not.toContain(res.body.refreshToken);
      expect(JSON.stringify(rows)).not.toContain(res.body.refreshToken);
    });

    it('accepts the email in another case and with surrounding spaces', async () => {
      const res = await post('login', {
        email: `  ${ADMIN.email.toUpperCase()} `,
        password: ADMIN.password,
      }).expect(200);
      expect(res.body.user.email).toBe(ADMIN.email);
    });

    it('answers a wrong password with a generic problem+json 401', async () => {
      const res = await post('login', { email: ADMIN.email, password: 'wrong-password' }).expect(
        401,
      );
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect(res.body.detail).not.toMatch(/password is wrong|no such user|inactive/i);
    });

    it('answers an unknown email exactly like a wrong password', async () => {
      const reference = await post('login', { email: ADMIN.email, password: 'wrong-password' });
      const res = await post('login', {
        email: 'nobody-here@test.local',
        password: 'wrong-password',
      });
      expect(res.status).toBe(401);
      expect(withoutRequestId(res.body)).toEqual(withoutRequestId(reference.body));
    });

    it('answers an inactive user with the right password exactly like a wrong password', async () => {
      const user = await createUser(app, admin, 'viewer');
      await setUser(user.id, { isActive: false });
      const reference = await post('login', { email: user.email, password: 'wrong-password' });
      const res = await post('login', { email: user.email, password: user.password });
      expect(res.status).toBe(401);
      expect(withoutRequestId(res.body)).toEqual(withoutRequestId(reference.body));
    });

    it('answers a wrong password longer than 72 bytes exactly like a short wrong password', async () => {
      const reference = await post('login', { email: ADMIN.email, password: 'wrong-password' });
      const res = await post('login', { email: ADMIN.email, password: 'x'.repeat(200) });
      expect(res.status).toBe(401);
      expect(withoutRequestId(res.body)).toEqual(withoutRequestId(reference.body));
    });

    it('refuses a password whose first 72 bytes are right but which goes on (bcrypt would cut it)', async () => {
      const password = 'p'.repeat(72);
      const user = await createUser(app, admin, 'viewer');
      await setUser(user.id, { password });
      await post('login', { email: user.email, password }).expect(200);
      await post('login', { email: user.email, password: `${password}tail` }).expect(401);
    });

    it('rejects a login without a password with 400', async () => {
      const res = await post('login', { email: ADMIN.email }).expect(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'password' })]),
      );
    });
  });

  describe('refresh', () => {
    it('rotates the pair: new tokens that work, and the old refresh token stops working', async () => {
      const first = await login(app, ADMIN.email, ADMIN.password);
      const res = await post('refresh', { refreshToken: first.refreshToken }).expect(200);
      expect(res.body.tokenType).toBe('Bearer');
      expect(res.body.refreshToken).not.toBe(first.refreshToken);
      expect(res.body.user.id).toBe(first.user.id);
      await me(res.body.accessToken).expect(200);
      await post('refresh', { refreshToken: first.refreshToken }).expect(401);
    });

    it('accepts the rotated refresh token once', async () => {
      const first = await login(app, ADMIN.email, ADMIN.password);
      const second = await post('refresh', { refreshToken: first.refreshToken }).expect(200);
      await post('refresh', { refreshToken: second.body.refreshToken }).expect(200);
    });

    it('revokes the whole family when a used refresh token is presented again', async () => {
      const first = await login(app, ADMIN.email, ADMIN.password);
      const second = await post('refresh', { refreshToken: first.refreshToken }).expect(200);
      const third = await post('refresh', { refreshToken: second.body.refreshToken }).expect(200);

      await post('refresh', { refreshToken: first.refreshToken }).expect(401);
      // The newest, never-used token of that family is dead too.
      await post('refresh', { refreshToken: third.body.refreshToken }).expect(401);
    });

    it('leaves other logins of the same user alive when one family is revoked for reuse', async () => {
      const user = await createUser(app, admin, 'analyst');
      const other = await login(app, user.email, user.password);
      const next = await post('refresh', { refreshToken: user.refreshToken }).expect(200);
      await post('refresh', { refreshToken: user.refreshToken }).expect(401);
      await post('refresh', { refreshToken: next.body.refreshToken }).expect(401);
      await post('refresh', { refreshToken: other.refreshToken }).expect(200);
    });

    it('answers an unknown refresh token with a problem+json 401', async () => {
      const res = await post('refresh', { refreshToken: 'not-a-token-we-issued' }).expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('refuses an access token in place of a refresh token', async () => {
      await post('refresh', { refreshToken: admin.token }).expect(401);
    });

    it('refuses an expired refresh token', async () => {
      const user = await createUser(app, admin, 'viewer');
      await app.sql.query(
        `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
        [user.id],
      );
      await post('refresh', { refreshToken: user.refreshToken }).expect(401);
    });

    it('rejects a refresh request without a token with 400', async () => {
      await post('refresh', {}).expect(400);
    });
  });

  describe('logout', () => {
    it('answers 204 with no body and the refresh token no longer works', async () => {
      const session = await login(app, ADMIN.email, ADMIN.password);
      const res = await post('logout', { refreshToken: session.refreshToken }).expect(204);
      expect(res.text).toBe('');
      await post('refresh', { refreshToken: session.refreshToken }).expect(401);
    });

    it('revokes the whole family, including tokens rotated after the one presented', async () => {
      const first = await login(app, ADMIN.email, ADMIN.password);
      const second = await post('refresh', { refreshToken: first.refreshToken }).expect(200);
      await post('logout', { refreshToken: first.refreshToken }).expect(204);
      await post('refresh', { refreshToken: second.body.refreshToken }).expect(401);
    });

    it("leaves the same user's other logins alive", async () => {
      const a = await login(app, ADMIN.email, ADMIN.password);
      const b = await login(app, ADMIN.email, ADMIN.password);
      await post('logout', { refreshToken: a.refreshToken }).expect(204);
      await post('refresh', { refreshToken: b.refreshToken }).expect(200);
    });
  });

  describe('me', () => {
    it('returns the current user with exactly the public fields', async () => {
      const viewer = await createUser(app, admin, 'viewer', { name: 'Vera Viewer' });
      const res = await me(viewer.token).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(USER_KEYS);
      expect(res.body).toMatchObject({
        id: viewer.id,
        name: 'Vera Viewer',
        email: viewer.email,
        role: 'viewer',
        isActive: true,
      });
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
    });

    it('answers a request without a token with 401', async () => {
      await app.http().get('/api/v1/auth/me').expect(401);
    });

    it('answers a token sent without the Bearer scheme with 401', async () => {
      await app.http().get('/api/v1/auth/me').set('Authorization', admin.token).expect(401);
    });
  });

  describe('password change', () => {
    it('answers 204, after which the old password fails and the new one works', async () => {
      const user = await createUser(app, admin, 'analyst');
      await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: user.password, newPassword: 'brand-new-password' })
        .expect(204);
      await post('login', { email: user.email, password: user.password }).expect(401);
      await post('login', { email: user.email, password: 'brand-new-password' }).expect(200);
    });

    it('revokes every refresh token the user held', async () => {
      const user = await createUser(app, admin, 'analyst');
      const second = await login(app, user.email, user.password);
      await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: user.password, newPassword: 'brand-new-password' })
        .expect(204);
      await post('refresh', { refreshToken: user.refreshToken }).expect(401);
      await post('refresh', { refreshToken: second.refreshToken }).expect(401);
    });

    it('answers a wrong current password with 400 naming currentPassword, and keeps the old one', async () => {
      const user = await createUser(app, admin, 'viewer');
      const res = await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: 'not-my-password', newPassword: 'brand-new-password' })
        .expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ field: 'currentPassword', message: expect.any(String) }),
      ]);
      await post('login', { email: user.email, password: user.password }).expect(200);
    });

    it('rejects a new password of 73 bytes with 400 naming newPassword', async () => {
      const user = await createUser(app, admin, 'viewer');
      // 36 two-byte characters + 1 = 37 characters but 73 bytes: bytes are what count.
      const newPassword = `${'é'.repeat(36)}x`;
      const res = await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: user.password, newPassword })
        .expect(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'newPassword' })]),
      );
      await post('login', { email: user.email, password: user.password }).expect(200);
    });

    it('accepts a new password of exactly 72 bytes', async () => {
      const user = await createUser(app, admin, 'viewer');
      const newPassword = 'é'.repeat(36);
      await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: user.password, newPassword })
        .expect(204);
      await post('login', { email: user.email, password: newPassword }).expect(200);
    });

    it('rejects a new password of 7 bytes with 400', async () => {
      const user = await createUser(app, admin, 'viewer');
      await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: user.password, newPassword: 'short77' })
        .expect(400);
    });

    it('requires authentication', async () => {
      await post('password', { currentPassword: 'whatever-1', newPassword: 'whatever-2' }).expect(
        401,
      );
    });
  });

  describe('access tokens', () => {
    it('accepts a hand-made token with the right secret, issuer and audience (control)', async () => {
      const res = await me(craftToken({ sub: admin.id })).expect(200);
      expect(res.body.id).toBe(admin.id);
    });

    it('rejects an expired token', async () => {
      const past = Math.floor(Date.now() / 1000) - 3600;
      await me(craftToken({ sub: admin.id, iat: past - 900, exp: past })).expect(401);
    });

    it('rejects a token signed with another secret', async () => {
      const token = craftToken(
        { sub: admin.id },
        { secret: 'another-secret-that-is-also-long-enough-0123456789' },
      );
      await me(token).expect(401);
    });

    it('rejects an unsigned token (alg none)', async () => {
      await me(craftToken({ sub: admin.id }, { alg: 'none' })).expect(401);
    });

    it('rejects a token signed with the right secret but another algorithm (HS512)', async () => {
      await me(craftToken({ sub: admin.id }, { alg: 'HS512' })).expect(401);
    });

    it('rejects a token issued for another audience', async () => {
      await me(craftToken({ sub: admin.id, aud: 'someone-else' })).expect(401);
    });

    it('rejects a token from another issuer', async () => {
      await me(craftToken({ sub: admin.id, iss: 'someone-else' })).expect(401);
    });

    it('rejects a real token whose payload was edited', async () => {
      const viewer = await createUser(app, admin, 'viewer');
      const [header, , signature] = viewer.token.split('.');
      const payload = decodePayload(viewer.token);
      const edited = Buffer.from(JSON.stringify({ ...payload, sub: admin.id })).toString(
        'base64url',
      );
      await me(`${header}.${edited}.${signature}`).expect(401);
    });

    it.each([
      ['random text', 'garbage'],
      ['three dotted garbage parts', 'aaa.bbb.ccc'],
      ['an empty token', ''],
      ['non-JSON parts', `${Buffer.from('{').toString('base64url')}.e30.sig`],
    ])('rejects a malformed token: %s', async (_label, token) => {
      const res = await me(token).expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('rejects a well-signed token whose subject is an unknown user id', async () => {
      await me(craftToken({ sub: randomUUID() })).expect(401);
    });

    it('rejects a well-signed token whose subject is not a uuid', async () => {
      await me(craftToken({ sub: 'admin' })).expect(401);
    });

    it('rejects a well-signed token without a subject', async () => {
      await me(craftToken({})).expect(401);
    });

    it('answers every rejected token with the same 401 body', async () => {
      const missing = await app.http().get('/api/v1/auth/me');
      const forged = await me(craftToken({ sub: admin.id }, { secret: 'x'.repeat(40) }));
      const unknown = await me(craftToken({ sub: randomUUID() }));
      expect(withoutRequestId(forged.body)).toEqual(withoutRequestId(missing.body));
      expect(withoutRequestId(unknown.body)).toEqual(withoutRequestId(missing.body));
    });
  });

  describe('user changes apply to existing tokens at once', () => {
    it('rejects the access token of a user deactivated after it was issued', async () => {
      const user = await createUser(app, admin, 'analyst');
      await me(user.token).expect(200);
      await setUser(user.id, { isActive: false });
      await me(user.token).expect(401);
    });

    it('accepts the same access token again once the user is reactivated', async () => {
      const user = await createUser(app, admin, 'analyst');
      await setUser(user.id, { isActive: false });
      await me(user.token).expect(401);
      await setUser(user.id, { isActive: true });
      await me(user.token).expect(200);
    });

    it("grants an admin route to a viewer's existing token once the viewer is promoted", async () => {
      const user = await createUser(app, admin, 'viewer');
      await app.http().get('/api/v1/users').set(bearer(user)).expect(403);
      await setUser(user.id, { role: 'admin' });
      await app.http().get('/api/v1/users').set(bearer(user)).expect(200);
      // Restore: this file otherwise assumes the bootstrapped admin is the only one.
      await setUser(user.id, { role: 'viewer' });
    });

    it("withdraws an admin route from an admin's existing token once it is demoted", async () => {
      const user = await createUser(app, admin, 'admin');
      await app.http().get('/api/v1/users').set(bearer(user)).expect(200);
      await setUser(user.id, { role: 'analyst' });
      await app.http().get('/api/v1/users').set(bearer(user)).expect(403);
    });

    it('reports the new role on /auth/me with the old token', async () => {
      const user = await createUser(app, admin, 'analyst');
      await setUser(user.id, { role: 'viewer' });
      const res = await me(user.token).expect(200);
      expect(res.body.role).toBe('viewer');
    });
  });
});
