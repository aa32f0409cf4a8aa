import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { createApiKey, createUser, loginAdmin, type TestKey, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { sleep } from '../waits';

/**
 * API keys and rate limiting (docs/api.md sections 7 and 10): a key has a bucket of its own, apart
 * from its owner's session; a key that authenticates nobody is an anonymous caller, limited per
 * IP. And the key never reaches the logs, even at the most verbose level.
 */

const LIMIT = 20;

let ipCounter = 0;
const freshIp = () => `10.88.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

const remaining = (res: Response): number => Number(res.headers['ratelimit-remaining']);

describe('API keys: rate limits and logs', () => {
  let app: TestApp;
  let admin: TestUser;
  const issued: TestKey[] = [];

  beforeAll(async () => {
    app = await startApp({
      THROTTLE_LIMIT: String(LIMIT),
      THROTTLE_TTL: '60',
      TRUST_PROXY: 'loopback',
      LOG_LEVEL: 'trace',
    });
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const call = (token: string, path = '/api/v1/dashboard/summary', ip = '10.99.0.1') =>
    app.http().get(path).set('Authorization', `Bearer ${token}`).set('X-Forwarded-For', ip);
  const key = async (user: TestUser, scopes = ['dashboard:read']) => {
    const made = await createApiKey(app, user, scopes);
    issued.push(made);
    return made;
  };

  it('gives a key its own bucket: the owner’s session and each of its keys are limited apart', async () => {
    const user = await createUser(app, admin, 'viewer');
    const first = await key(user);
    const second = await key(user);
    // Two requests of the session's 20 are spent creating the keys.
    for (let i = 2; i < LIMIT; i++) await call(user.token).expect(200);
    expect((await call(user.token)).status).toBe(429);

    const fresh = await call(first.token).expect(200);
    expect(remaining(fresh)).toBe(LIMIT - 1);
    expect(fresh.headers['ratelimit-limit']).toBe(String(LIMIT));
    for (let i = 1; i < LIMIT; i++) await call(first.token).expect(200);
    const blocked = await call(first.token);
    expectProblem(blocked, 429);
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);

    // The other key of the same owner is untouched, and the session is still limited.
    expect(remaining(await call(second.token).expect(200))).toBe(LIMIT - 1);
    expect((await call(user.token)).status).toBe(429);
  });

  it('follows the key, not the address it comes from', async () => {
    const user = await createUser(app, admin, 'viewer');
    const k = await key(user);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++)
      seen.push(remaining(await call(k.token, undefined, freshIp()).expect(200)));
    expect(seen).toEqual([LIMIT - 1, LIMIT - 2, LIMIT - 3]);
  });

  it('limits unknown keys per IP like any anonymous caller (a fresh random key per request gets no fresh bucket)', async () => {
    const ip = freshIp();
    const bogus = () => `fin_${randomBytes(32).toString('base64url')}`;
    for (let i = 0; i < LIMIT; i++) {
      const res = await call(bogus(), undefined, ip);
      expectProblem(res, 401);
      expect(remaining(res)).toBe(LIMIT - 1 - i);
    }
    expectProblem(await call(bogus(), undefined, ip), 429);
    // Malformed ones too, and a plain anonymous request from that IP.
    expectProblem(await call('fin_short', undefined, ip), 429);
    expectProblem(
      await app.http().get('/api/v1/dashboard/summary').set('X-Forwarded-For', ip),
      429,
    );
    // Another IP is unaffected.
    expectProblem(await call(bogus(), undefined, freshIp()), 401);
  });

  it('limits a revoked key per IP too, not in the bucket it had while live', async () => {
    const user = await createUser(app, admin, 'viewer');
    const k = await key(user);
    await call(k.token).expect(200);
    await app
      .http()
      .delete(`/api/v1/api-keys/${k.id}`)
      .set('Authorization', `Bearer ${user.token}`)
      .expect(204);
    const ip = freshIp();
    const res = await call(k.token, undefined, ip);
    expectProblem(res, 401);
    expect(remaining(res)).toBe(LIMIT - 1);
    expect(
      remaining(await app.http().get('/api/v1/dashboard/summary').set('X-Forwarded-For', ip)),
    ).toBe(LIMIT - 2);
  });

  it('never writes a key to the log, whatever happened to the request', async () => {
    const user = await createUser(app, admin, 'analyst');
    const k = await key(user, ['transactions:read', 'transactions:write']);
    await call(k.token, '/api/v1/transactions', freshIp()).expect(200);
    expectProblem(await call(k.token, '/api/v1/auth/me', freshIp()), 403);
    expectProblem(await call(k.token, '/api/v1/dashboard/summary', freshIp()), 403);
    await app
      .http()
      .post('/api/v1/transactions')
      .set('Authorization', `Bearer ${k.token}`)
      .set('X-Forwarded-For', freshIp())
      .send({ type: 'income', amount: 'not money', category: 'x', date: '2026-01-01' })
      .expect(400);
    expectProblem(await call(`${k.token}x`, undefined, freshIp()), 401);
    await sleep(300);
    const logs = app.logs();
    // The log is on (trace) and does record these requests.
    expect(logs).toContain('/api/v1/transactions');
    expect(issued.length).toBeGreaterThan(4);
    for (const { token } of issued) {
      expect(logs).not.toContain(token.slice(4));
      expect(logs).not.toContain(token.slice(12, 30));
    }
  });
});
