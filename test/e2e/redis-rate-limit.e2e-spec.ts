import { randomBytes, randomInt } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { craftToken } from '../jwt';
import { expectProblem } from '../problems';

/**
 * Rate limits across instances. With REDIS_URL the counters live in Redis, so two instances on
 * one database share each caller's budget; without it each instance counts alone. Every test
 * uses a fresh user (or a random client address) so nothing has to be flushed from Redis.
 */

const REDIS_URL = process.env.REDIS_URL;
const LIMIT = 10;
const LIMITS = { THROTTLE_LIMIT: String(LIMIT), THROTTLE_TTL: '60' };

if (!REDIS_URL) {
  console.warn(
    'redis-rate-limit.e2e-spec: REDIS_URL is not set, so the shared-limit tests against Redis are SKIPPED ' +
      '(set REDIS_URL=redis://127.0.0.1:6379 to run them).',
  );
}
const describeWithRedis = REDIS_URL ? describe : describe.skip;

/** A user inserted straight into the database, with a signed access token: no login, no quota used. */
async function freshUserToken(app: TestApp): Promise<string> {
  const { rows } = await app.sql.query<{ id: string }>(
    `INSERT INTO users (name, email, password_hash, role) VALUES ($1, $2, $3, 'viewer') RETURNING id`,
    ['Limited', `limited-${randomBytes(6).toString('hex')}@test.local`, `$2b$04$${'x'.repeat(53)}`],
  );
  return craftToken({ sub: rows[0].id });
}

const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

function expectTooManyRequests(res: Response): void {
  expectProblem(res, 429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

const me = (app: TestApp, token: string) =>
  app.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);

describe('rate limits across instances', () => {
  let redisA: TestApp | undefined;
  let redisB: TestApp | undefined;
  let memoryC: TestApp;
  let memoryD: TestApp;

  beforeAll(async () => {
    const redisEnv = { ...LIMITS, REDIS_URL: REDIS_URL ?? '', TRUST_PROXY: '1' };
    const memoryEnv = { ...LIMITS, THROTTLE_LOGIN_IP_LIMIT: '3' };
    // The first instance of each pair creates and migrates the database the second one joins.
    [redisA, memoryC] = await Promise.all([
      REDIS_URL ? startApp(redisEnv) : Promise.resolve(undefined),
      startApp(memoryEnv),
    ]);
    [redisB, memoryD] = await Promise.all([
      redisA ? startApp(redisEnv, { databaseUrl: redisA.databaseUrl }) : Promise.resolve(undefined),
      startApp(memoryEnv, { databaseUrl: memoryC.databaseUrl }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([redisB?.stop(), memoryD?.stop()]);
    await Promise.all([redisA?.stop(), memoryC?.stop()]);
  });

  describeWithRedis('with REDIS_URL (shared counters)', () => {
    it(`lets ${LIMIT} requests of one user spread over both instances through, then answers 429 on either`, async () => {
      const token = await freshUserToken(redisA!);
      for (let i = 0; i < LIMIT; i++) await me(i % 2 ? redisB! : redisA!, token).expect(200);
      expectTooManyRequests(await me(redisA!, token));
      expectTooManyRequests(await me(redisB!, token));
    });

    it('reports the shared budget in RateLimit-* headers on either instance, and Retry-After on 429', async () => {
      const token = await freshUserToken(redisA!);
      const remaining: number[] = [];
      for (let i = 0; i < LIMIT; i++) {
        const res = await me(i % 2 ? redisB! : redisA!, token).expect(200);
        expect(res.headers['ratelimit-limit']).toBe(String(LIMIT));
        const reset = Number(res.headers['ratelimit-reset']);
        expect(reset).toBeGreaterThanOrEqual(1);
        expect(reset).toBeLessThanOrEqual(60);
        remaining.push(Number(res.headers['ratelimit-remaining']));
      }
      expect(remaining).toEqual([...Array(LIMIT).keys()].map((i) => LIMIT - 1 - i));
      const blocked = await me(redisB!, token);
      expectTooManyRequests(blocked);
      expect(blocked.headers['ratelimit-remaining']).toBe('0');
      expect(blocked.headers['ratelimit-reset']).toBe(blocked.headers['retry-after']);
    });

    it('keeps the budget per user: another user is untouched on both instances', async () => {
      const limited = await freshUserToken(redisA!);
      const other = await freshUserToken(redisA!);
      for (let i = 0; i < LIMIT; i++) await me(i % 2 ? redisB! : redisA!, limited).expect(200);
      await me(redisB!, limited).expect(429);
      await me(redisA!, other).expect(200);
      await me(redisB!, other).expect(200);
    });

    it('with TRUST_PROXY=1 gives distinct X-Forwarded-For addresses distinct anonymous buckets, shared by both instances', async () => {
      const [blocked, fresh] = [randomIp(), randomIp()];
      const anonymous = (app: TestApp, ip: string) =>
        app.http().get('/api/v1/auth/me').set('X-Forwarded-For', ip);
      for (let i = 0; i < LIMIT; i++)
        expectProblem(await anonymous(i % 2 ? redisB! : redisA!, blocked), 401);
      expectTooManyRequests(await anonymous(redisA!, blocked));
      expectTooManyRequests(await anonymous(redisB!, blocked));
      expectProblem(await anonymous(redisA!, fresh), 401);
      expectProblem(await anonymous(redisB!, fresh), 401);
    });
  });

  describe('without REDIS_URL (in-memory counters)', () => {
    it('does not share a user’s budget between two instances', async () => {
      const token = await freshUserToken(memoryC);
      for (let i = 0; i < LIMIT; i++) await me(memoryC, token).expect(200);
      expectTooManyRequests(await me(memoryC, token));
      // The other instance has counted nothing for this user, and its headers say so.
      const first = await me(memoryD, token).expect(200);
      expect(first.headers['ratelimit-remaining']).toBe(String(LIMIT - 1));
      for (let i = 1; i < LIMIT; i++) await me(memoryD, token).expect(200);
    });

    it('without TRUST_PROXY ignores X-Forwarded-For, so spoofing it does not escape the login IP limit', async () => {
      const attempt = (ip: string) =>
        memoryC
          .http()
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', ip)
          .send({
            email: `nobody-${randomBytes(4).toString('hex')}@test.local`,
            password: 'wrong-password',
          });
      for (let i = 0; i < 3; i++) expectProblem(await attempt(randomIp()), 401);
      expectTooManyRequests(await attempt(randomIp()));
    });
  });
});
