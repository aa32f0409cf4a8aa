import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { ADMIN, startApp, type TestApp } from '../app';
import { expectProblem } from '../problems';

/**
 * Login: 3 attempts per IP+email and 5 per IP each minute; everything else: 20 requests per
 * caller each minute. With TRUST_PROXY=loopback every test gets its own client IP through
 * X-Forwarded-For, so the tests do not share buckets (every request really comes from 127.0.0.1).
 */
const LIMITS = {
  THROTTLE_LOGIN_LIMIT: '3',
  THROTTLE_LOGIN_IP_LIMIT: '5',
  THROTTLE_LIMIT: '20',
  THROTTLE_TTL: '60',
};

let ipCounter = 0;
const freshIp = () => `10.77.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;
const email = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}@test.local`;

function expectTooManyRequests(res: Response): void {
  expectProblem(res, 429);
  expect(res.body.title).toBe('Too Many Requests');
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  const seconds = Number(res.headers['retry-after']);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
  expect(res.headers['ratelimit-remaining']).toBe('0');
  expect(Number(res.headers['ratelimit-reset'])).toBe(seconds);
}

/** The RateLimit-* headers of docs/api.md section 7, as numbers. */
function rateLimit(res: Response): { limit: number; remaining: number; reset: number } {
  for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'])
    expect(res.headers[name]).toMatch(/^\d+$/);
  return {
    limit: Number(res.headers['ratelimit-limit']),
    remaining: Number(res.headers['ratelimit-remaining']),
    reset: Number(res.headers['ratelimit-reset']),
  };
}

describe('rate limiting', () => {
  let app: TestApp;
  let adminToken: string;

  beforeAll(async () => {
    app = await startApp({ ...LIMITS, TRUST_PROXY: 'loopback' });
    adminToken = (await loginFrom(freshIp(), ADMIN.email, ADMIN.password).expect(200)).body
      .accessToken;
  });
  afterAll(() => app.stop());

  function loginFrom(ip: string, address: string, password = 'wrong-password') {
    return app
      .http()
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', ip)
      .send({ email: address, password });
  }

  /** Creates a user as the admin and logs it in from an IP of its own; returns its token. */
  async function userToken(role: 'analyst' | 'viewer' = 'viewer'): Promise<string> {
    const address = email(role);
    const password = 'a-good-password';
    await app
      .http()
      .post('/api/v1/users')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: 'Limited', email: address, password, role })
      .expect(201);
    return (await loginFrom(freshIp(), address, password).expect(200)).body.accessToken;
  }

  const meAs = (token: string, ip = '10.99.0.1') =>
    app
      .http()
      .get('/api/v1/auth/me')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Forwarded-For', ip);

  describe('login', () => {
    it('answers the 4th attempt for one email from one IP within a minute with 429', async () => {
      const ip = freshIp();
      const target = email('victim');
      for (let i = 0; i < 3; i++) await loginFrom(ip, target).expect(401);
      expectTooManyRequests(await loginFrom(ip, target));
    });

    it('refuses even the right password once the email is over its limit', async () => {
      const ip = freshIp();
      for (let i = 0; i < 3; i++) await loginFrom(ip, ADMIN.email).expect(401);
      expectTooManyRequests(await loginFrom(ip, ADMIN.email, ADMIN.password));
    });

    it('counts attempts for one email whatever its case and surrounding spaces', async () => {
      const ip = freshIp();
      const target = email('cased');
      await loginFrom(ip, target.toUpperCase()).expect(401);
      await loginFrom(ip, ` ${target} `).expect(401);
      await loginFrom(ip, target).expect(401);
      expectTooManyRequests(await loginFrom(ip, target.toUpperCase()));
    });

    it('still lets a different email from the same IP through after one email is blocked', async () => {
      const ip = freshIp();
      const blocked = email('blocked');
      for (let i = 0; i < 3; i++) await loginFrom(ip, blocked).expect(401);
      expectTooManyRequests(await loginFrom(ip, blocked));
      await loginFrom(ip, email('other')).expect(401);
    });

    it('answers the 6th attempt from one IP with 429 whatever the email', async () => {
      const ip = freshIp();
      for (let i = 0; i < 5; i++) await loginFrom(ip, email(`spray${i}`)).expect(401);
      expectTooManyRequests(await loginFrom(ip, email('spray-next')));
    });

    it('lets the same email be tried from another IP after one IP is blocked for it', async () => {
      const target = email('shared');
      const first = freshIp();
      for (let i = 0; i < 3; i++) await loginFrom(first, target).expect(401);
      expectTooManyRequests(await loginFrom(first, target));
      await loginFrom(freshIp(), target).expect(401);
    });
  });

  describe('RateLimit headers', () => {
    it("count down the caller's bucket on every response, with Reset in seconds until the window resets", async () => {
      const token = await userToken();
      const seen = [];
      for (let i = 0; i < 20; i++) seen.push(rateLimit(await meAs(token).expect(200)));
      expect(seen.map((h) => h.limit)).toEqual(Array(20).fill(20));
      expect(seen.map((h) => h.remaining)).toEqual([...Array(20).keys()].map((i) => 19 - i));
      for (const { reset } of seen) {
        expect(reset).toBeGreaterThanOrEqual(1);
        expect(reset).toBeLessThanOrEqual(60);
      }
      // One fixed window: the reset only counts down.
      for (let i = 1; i < seen.length; i++)
        expect(seen[i].reset).toBeLessThanOrEqual(seen[i - 1].reset);
      const blocked = await meAs(token);
      expectTooManyRequests(blocked);
      expect(rateLimit(blocked).limit).toBe(20);
    });

    it('are on error responses too (an anonymous 401 counts against the IP)', async () => {
      const ip = freshIp();
      const first = await app.http().get('/api/v1/auth/me').set('X-Forwarded-For', ip).expect(401);
      const second = await app.http().get('/api/v1/auth/me').set('X-Forwarded-For', ip).expect(401);
      expect(rateLimit(first)).toMatchObject({ limit: 20, remaining: 19 });
      expect(rateLimit(second)).toMatchObject({ limit: 20, remaining: 18 });
    });

    it('on login report the limit closest to exhaustion (3 per IP+email before 5 per IP before 20)', async () => {
      const ip = freshIp();
      const target = email('headers');
      const first = await loginFrom(ip, target).expect(401);
      expect(rateLimit(first)).toMatchObject({ limit: 3, remaining: 2 });
      // Other emails from the same IP: the per-IP login limit (5) is now the tighter one.
      await loginFrom(ip, email('h1')).expect(401);
      await loginFrom(ip, email('h2')).expect(401);
      const fourth = await loginFrom(ip, email('h3')).expect(401);
      expect(rateLimit(fourth)).toMatchObject({ limit: 5, remaining: 1 });
    });

    it('are absent from the health routes, which are not rate limited', async () => {
      for (const path of ['/health/live', '/health/ready']) {
        const res = await app.http().get(path).set('X-Forwarded-For', freshIp()).expect(200);
        expect(res.headers['ratelimit-limit']).toBeUndefined();
        expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      }
    });
  });

  describe('authenticated requests', () => {
    it('answers the 21st request of one user within the window with 429', async () => {
      const token = await userToken();
      for (let i = 0; i < 20; i++) await meAs(token).expect(200);
      expectTooManyRequests(await meAs(token));
    });

    it('keeps one bucket per user: another user still gets 200 while the first is limited', async () => {
      const limited = await userToken();
      const other = await userToken();
      for (let i = 0; i < 20; i++) await meAs(limited).expect(200);
      await meAs(limited).expect(429);
      await meAs(other).expect(200);
    });

    it('follows the user, not the address: a limited user stays limited from another IP', async () => {
      const token = await userToken('analyst');
      for (let i = 0; i < 20; i++) await meAs(token, freshIp()).expect(200);
      expectTooManyRequests(await meAs(token, freshIp()));
    });

    it('limits anonymous callers per IP, leaving other IPs alone', async () => {
      const ip = freshIp();
      const anonymous = (from: string) =>
        app.http().get('/api/v1/auth/me').set('X-Forwarded-For', from);
      for (let i = 0; i < 20; i++) await anonymous(ip).expect(401);
      expectTooManyRequests(await anonymous(ip));
      await anonymous(freshIp()).expect(401);
    });
  });

  describe('health', () => {
    it('never limits /health/ready', async () => {
      const ip = freshIp();
      for (let i = 0; i < 30; i++)
        await app.http().get('/health/ready').set('X-Forwarded-For', ip).expect(200);
    });

    it('still answers /health/ready and /health/live from an IP that is over its limit', async () => {
      const ip = freshIp();
      for (let i = 0; i < 21; i++)
        await app.http().get('/api/v1/auth/me').set('X-Forwarded-For', ip);
      await app.http().get('/api/v1/auth/me').set('X-Forwarded-For', ip).expect(429);
      await app.http().get('/health/ready').set('X-Forwarded-For', ip).expect(200);
      await app.http().get('/health/live').set('X-Forwarded-For', ip).expect(200);
    });
  });
});

describe('rate limiting without TRUST_PROXY', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp(LIMITS);
  });
  afterAll(() => app.stop());

  it('ignores X-Forwarded-For, so a spoofed address does not escape the login limit', async () => {
    const target = email('spoof');
    const attempt = (ip: string) =>
      app
        .http()
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: target, password: 'wrong-password' });
    for (let i = 1; i <= 3; i++) await attempt(`192.0.2.${i}`).expect(401);
    expectTooManyRequests(await attempt('192.0.2.99'));
  });
});
