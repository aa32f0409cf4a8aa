import type { Browser } from 'puppeteer-core';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, login, loginAdmin, type TestUser } from '../factories';
import {
  cards,
  choose,
  launchBrowser,
  openPage,
  type Recorded,
  settled,
  signIn,
  unexpectedErrors,
} from './browser';

/**
 * The session as the page keeps it: access tokens that expire (JWT_ACCESS_TTL=2s here) are
 * renewed with the refresh token, rotation included; a session the server ended sends the page
 * back to sign-in; a 429 says how long to wait (THROTTLE_LIMIT=4 on an app of its own).
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than a 2 s access token lives (1-2 s: its `exp` has whole seconds). */
const PAST_EXPIRY_MS = 3_200;

/**
 * A setup step, tried again with fresh tokens when its token expired on the way: tokens live
 * 1-2 s in one app here, and on a loaded machine (CI, after the other suites) a login and the
 * request after it can take longer. The first try makes no request more than before, since the
 * rate-limited app counts them.
 */
async function retried<T>(step: (fresh: boolean) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step(attempt > 1);
    } catch (error) {
      if (attempt === 3 || !/\b401\b/.test(String(error))) throw error;
    }
  }
}

async function analystWithRows(app: TestApp): Promise<TestUser> {
  let admin = await loginAdmin(app);
  const user = await retried(async (fresh) => {
    if (fresh) admin = await loginAdmin(app);
    return createUser(app, admin, 'analyst', { name: 'Sam Session' });
  });
  for (const [type, amount, category] of [
    ['income', '1000.00', 'Salary'],
    ['expense', '250.40', 'Rent'],
  ]) {
    await retried(async (fresh) => {
      if (fresh) user.token = (await login(app, user.email, user.password)).accessToken;
      await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(user))
        .send({ type, amount, category, date: new Date().toISOString().slice(0, 10) })
        .expect(201);
    });
  }
  return user;
}

describe('web dashboard sessions in Chromium', () => {
  let browser: Browser;
  let open: Recorded[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterEach(async () => {
    await Promise.all(open.map((r) => r.close()));
    open = [];
  });
  afterAll(() => browser?.close());

  async function signedIn(app: TestApp, user: TestUser): Promise<Recorded> {
    const recorded = await openPage(browser);
    open.push(recorded);
    await recorded.page.goto(`${app.url}/`);
    await signIn(recorded.page, user.email, user.password);
    await settled(recorded.page);
    return recorded;
  }

  describe('with access tokens that live two seconds', () => {
    let app: TestApp;
    let user: TestUser;
    beforeAll(async () => {
      app = await startApp({ JWT_ACCESS_TTL: '2s' });
      user = await analystWithRows(app);
    });
    afterAll(() => app?.stop());
    /**
     * A request of the test's own, with a token from a fresh login: an access token lives 1-2 s
     * here (its `exp` has whole seconds), so on a loaded machine it may expire on the way; a 401
     * is then tried again with another one.
     */
    async function asUser(send: (token: string) => Promise<Response>): Promise<Response> {
      for (let attempt = 1; ; attempt++) {
        const { accessToken } = await login(app, user.email, user.password);
        const res = await send(accessToken);
        if (res.status !== 401 || attempt === 3) return res;
      }
    }

    it('renews an expired access token with the refresh token, twice (rotation), and stays signed in', async () => {
      const recorded = await signedIn(app, user);
      const { page } = recorded;
      for (const range of ['ytd', 'all']) {
        await sleep(PAST_EXPIRY_MS);
        const seen = recorded.api.length;
        await choose(page, 'range', range);
        expect(
          recorded.api.slice(seen).map((a) => `${a.method} ${a.path.split('?')[0]} ${a.status}`),
        ).toEqual(['GET /dashboard 401', 'POST /auth/refresh 200', 'GET /dashboard 200']);
        const res = await asUser((token) =>
          app.http().get(`/api/v1/dashboard/summary?range=${range}`).set(bearer({ token })),
        );
        expect(res.status).toBe(200);
        const summary = res.body as { totalIncome: string; netBalance: string };
        const shown = await cards(page);
        expect([shown.totalIncome.value, shown.netBalance.value]).toEqual([
          summary.totalIncome,
          summary.netBalance,
        ]);
      }
      expect(unexpectedErrors(recorded, [401])).toEqual([]);
    });

    it('sends the page back to sign-in when the server has ended the session', async () => {
      const recorded = await signedIn(app, user);
      const { page } = recorded;
      // Changing the password elsewhere revokes every refresh token of the user.
      const newPassword = 'a-new-password-for-sam';
      const changed = await asUser((token) =>
        app
          .http()
          .post('/api/v1/auth/password')
          .set(bearer({ token }))
          .send({ currentPassword: user.password, newPassword }),
      );
      expect(changed.status).toBe(204);
      user = { ...user, password: newPassword };
      await sleep(PAST_EXPIRY_MS);
      await page.select('#range', 'mtd');
      await page.waitForSelector('#signin:not([hidden])');
      expect(await page.$eval('#signin-note', (el) => el.textContent)).toBe(
        'Your session has ended. Sign in again.',
      );
      expect(await page.$eval('#dashboard', (el) => (el as HTMLElement).hidden)).toBe(true);
      expect(await page.$$('#content *')).toHaveLength(0);
      expect(
        recorded.api.slice(-2).map((a) => `${a.method} ${a.path.split('?')[0]} ${a.status}`),
      ).toEqual(['GET /dashboard 401', 'POST /auth/refresh 401']);
      expect(unexpectedErrors(recorded, [401])).toEqual([]);
    });
  });

  describe('with a rate limit of four requests a minute', () => {
    let app: TestApp;
    let user: TestUser;
    beforeAll(async () => {
      app = await startApp({ THROTTLE_LIMIT: '4' });
      user = await analystWithRows(app);
    });
    afterAll(() => app?.stop());

    it('says how long to wait, from Retry-After, when the API answers 429', async () => {
      const recorded = await signedIn(app, user);
      const { page } = recorded;
      for (const range of ['ytd', 'mtd', 'last30d', 'last12m', 'all', 'ytd']) {
        if (recorded.api.some((a) => a.status === 429)) break;
        await choose(page, 'range', range);
      }
      const limited = recorded.api.find((a) => a.status === 429);
      expect(limited).toMatchObject({
        method: 'GET',
        path: expect.stringMatching(/^\/dashboard\?/),
      });
      const wait = Number(limited?.retryAfter);
      expect(wait).toBeGreaterThan(0);
      expect(await page.$eval('#status', (el) => el.textContent)).toBe(
        `Too many requests. Wait ${wait} second${wait === 1 ? '' : 's'}, then try again.Try again`,
      );
      expect(await page.$$('#status button')).toHaveLength(1);
      expect(await page.$$('#summary')).toHaveLength(0);
      expect(unexpectedErrors(recorded, [429])).toEqual([]);
    });
  });
});
