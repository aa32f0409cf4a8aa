import { randomBytes } from 'node:crypto';
import { ADMIN, type TestApp } from './app';

export type Role = 'admin' | 'analyst' | 'viewer' | 'auditor';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
  token: string;
  refreshToken: string;
}

export async function login(
  app: TestApp,
  email: string,
  password: string,
): Promise<{ accessToken: string; refreshToken: string; user: { id: string } }> {
  const res = await app.http().post('/api/v1/auth/login').send({ email, password });
  if (res.status !== 200)
    throw new Error(`login ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The bootstrapped admin, logged in. */
export async function loginAdmin(app: TestApp): Promise<TestUser> {
  const body = await login(app, ADMIN.email, ADMIN.password);
  return {
    id: body.user.id,
    email: ADMIN.email,
    password: ADMIN.password,
    role: 'admin',
    token: body.accessToken,
    refreshToken: body.refreshToken,
  };
}

let counter = 0;

/** Creates a user through the API as the admin, then logs it in. */
export async function createUser(
  app: TestApp,
  admin: TestUser,
  role: Role,
  overrides: { name?: string; email?: string } = {},
): Promise<TestUser> {
  const email =
    overrides.email ?? `${role}-${++counter}-${randomBytes(3).toString('hex')}@test.local`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const res = await app
    .http()
    .post('/api/v1/users')
    .set('Authorization', `Bearer ${admin.token}`)
    .send({ name: overrides.name ?? `${role} ${counter}`, email, password, role });
  if (res.status !== 201)
    throw new Error(`create ${role} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = await login(app, email, password);
  return {
    id: res.body.id,
    email,
    password,
    role,
    token: body.accessToken,
    refreshToken: body.refreshToken,
  };
}

export const bearer = (user: { token: string }) => ({ Authorization: `Bearer ${user.token}` });

/** Deactivates a user through the API as the admin, and fails loudly unless it is a 200. */
export async function deactivate(app: TestApp, admin: TestUser, user: { id: string }) {
  await app
    .http()
    .patch(`/api/v1/users/${user.id}`)
    .set(bearer(admin))
    .send({ isActive: false })
    .expect(200);
}

export interface TestKey {
  id: string;
  /** `fin_…`: usable wherever a `{ token }` is, e.g. with `bearer()`. */
  token: string;
  scopes: string[];
}

/** Creates an API key for `user` (signed in with its access token) and fails loudly unless it is a 201. */
export async function createApiKey(
  app: TestApp,
  user: { token: string },
  scopes: string[],
  body: { name?: string; expiresAt?: string } = {},
): Promise<TestKey> {
  const res = await app
    .http()
    .post('/api/v1/api-keys')
    .set(bearer(user))
    .send({ name: body.name ?? `key ${++counter}`, scopes, ...body });
  if (res.status !== 201)
    throw new Error(`create key failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, token: res.body.key, scopes };
}
