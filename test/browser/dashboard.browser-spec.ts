import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { startApp, type TestApp } from '../app';
import { bearer } from '../factories';
import {
  cards,
  choose,
  focusedId,
  launchBrowser,
  openPage,
  type Recorded,
  seriousViolations,
  settled,
  signIn,
  tableRows,
  unexpectedErrors,
} from './browser';
import { HOSTILE_CATEGORY, HOSTILE_NAME, HOSTILE_NOTES, seed, type World } from './seed';

/**
 * The dashboard at GET / in a real Chromium, used the way a person uses it: every figure the page
 * shows is checked against what the JSON API answers the same user, for each role, after
 * switching currency and range. Each test opens its own browser context and fails on any console
 * error, page error, dialog or request to another origin it did not expect.
 */
const SCREENSHOT = join(__dirname, '..', '..', 'docs', 'dashboard.png');

interface Body {
  [key: string]: unknown;
}
type Totals = {
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
  currency: string;
};
type Point = { period: string; income: string; expenses: string; net: string };
type Category = { category: string; total: string; share: string; count: number };
type Tx = {
  date: string;
  category: string;
  type: string;
  amount: string;
  currency: string;
  notes: string | null;
};

describe('web dashboard in Chromium', () => {
  let app: TestApp;
  let world: World;
  let browser: Browser;
  let open: Recorded[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([startApp(), launchBrowser()]);
    world = await seed(app);
  });
  afterEach(async () => {
    await Promise.all(open.map((r) => r.close()));
    open = [];
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  /** GET `path` of the JSON API as `user`, as the page would. */
  async function api<T = Body>(user: { token: string }, path: string): Promise<T> {
    const res = await app.http().get(`/api/v1${path}`).set(bearer(user));
    if (res.status !== 200)
      throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  }

  async function visit(): Promise<Recorded> {
    const recorded = await openPage(browser);
    open.push(recorded);
    await recorded.page.bringToFront();
    await recorded.page.goto(`${app.url}/`);
    return recorded;
  }

  async function signedIn(user: { email: string; password: string }): Promise<Recorded> {
    const recorded = await visit();
    await signIn(recorded.page, user.email, user.password);
    await settled(recorded.page);
    return recorded;
  }

  /** Nothing went wrong that a person could not see, and nothing left this origin. */
  function expectClean(recorded: Recorded, expectedStatuses: number[] = []) {
    expect(unexpectedErrors(recorded, expectedStatuses)).toEqual([]);
    expect(recorded.dialogs).toEqual([]);
    expect(recorded.requests.length).toBeGreaterThan(0);
    expect(recorded.requests.filter((url) => new URL(url).origin !== app.url)).toEqual([]);
  }

  async function expectSummary(page: Page, summary: Totals) {
    const shown = await cards(page);
    for (const field of ['totalIncome', 'totalExpenses', 'netBalance'] as const) {
      expect(shown[field].value).toBe(summary[field]);
      expect(shown[field].shown.replace(/,/g, '')).toBe(`${summary[field]} ${summary.currency}`);
    }
    expect(shown.transactionCount.value).toBe(String(summary.transactionCount));
  }

  async function expectTrend(page: Page, points: Point[]) {
    expect(points.length).toBeGreaterThan(0);
    expect(await tableRows(page, 'trend-table')).toEqual(
      points.map((p) => [p.period, p.income, p.expenses, p.net]),
    );
  }

  async function expectCategories(page: Page, user: { token: string }, query: string) {
    for (const type of ['expense', 'income'] as const) {
      const rows = await api<Category[]>(user, `/dashboard/categories?type=${type}&${query}`);
      await page.click(`input[name="category-type"][value="${type}"]`);
      await page.waitForFunction(
        (t) => document.querySelector('#category-table caption')?.textContent?.startsWith(t),
        {},
        type === 'expense' ? 'Expenses' : 'Income',
      );
      expect(await tableRows(page, 'category-table')).toEqual(
        rows.map((r) => [r.category, r.total, r.share, String(r.count)]),
      );
      // A period with none of a type (early in a month, say) says so instead of drawing nothing.
      expect(await page.$$('#categories canvas')).toHaveLength(rows.length > 0 ? 1 : 0);
    }
  }

  async function expectRecent(page: Page, recent: Tx[]) {
    expect(await tableRows(page, 'recent-table')).toEqual(
      recent.map((t) => [
        t.date,
        t.category,
        t.type === 'income' ? 'Income' : 'Expense',
        t.amount,
        t.currency,
        t.notes ?? '',
      ]),
    );
  }

  it('refuses a wrong password with a message and signs in with the right one', async () => {
    const { page, ...recorded } = await visit();
    await signIn(page, world.ann.email, 'not-the-password');
    await page.waitForFunction(() => document.getElementById('signin-error')?.textContent !== '');
    expect(await page.$eval('#signin-error', (el) => el.textContent)).toBe(
      'The email or password is wrong.',
    );
    expect(await page.$eval('#dashboard', (el) => (el as HTMLElement).hidden)).toBe(true);

    // The password field is emptied and focused for the next try.
    expect(await focusedId(page)).toBe('password');
    expect(await page.$eval('#password', (el) => (el as HTMLInputElement).value)).toBe('');
    await page.keyboard.type(world.ann.password);
    await page.keyboard.press('Enter');
    await settled(page);
    expect(await page.$eval('#signin', (el) => (el as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#who', (el) => el.textContent)).toBe('Ann Analyst (analyst)');
    expect(recorded.api.filter((a) => a.path === '/auth/login').map((a) => a.status)).toEqual([
      401, 200,
    ]);
    expectClean({ page, ...recorded }, [401]);
  });

  it("shows an analyst the API's figures: summary, monthly trend, categories and latest transactions", async () => {
    const recorded = await signedIn(world.ann);
    const { page } = recorded;
    await expectSummary(page, await api(world.ann, '/dashboard/summary'));
    await expectTrend(page, await api(world.ann, '/dashboard/trends?interval=month'));
    expect(await page.$$('#trend canvas')).not.toHaveLength(0);
    expect(await page.$$('#categories canvas')).not.toHaveLength(0);
    await page.click('input[name="category-type"][value="expense"]');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await expectCategories(page, world.ann, 'range=all');
    await expectRecent(page, await api(world.ann, '/dashboard/recent'));
    const byCurrency = await api<{ byCurrency: Totals[] }>(world.ann, '/dashboard/summary');
    expect(await tableRows(page, 'by-currency-table')).toEqual(
      byCurrency.byCurrency.map((c) => [
        c.currency,
        c.totalIncome,
        c.totalExpenses,
        c.netBalance,
        String(c.transactionCount),
      ]),
    );
    expectClean(recorded);
  });

  it("shows the API's figures again after switching the reporting currency and the range", async () => {
    const recorded = await signedIn(world.ann);
    const { page } = recorded;
    for (const [currency, range] of [
      ['EUR', 'all'],
      ['EUR', 'last12m'],
      ['EUR', 'mtd'],
      ['USD', 'ytd'],
      ['USD', 'last30d'],
    ] as const) {
      if ((await page.$eval('#currency', (el) => (el as HTMLSelectElement).value)) !== currency) {
        await choose(page, 'currency', currency);
      }
      await choose(page, 'range', range);
      const query = `range=${range}&currency=${currency}`;
      const summary = await api<Totals>(world.ann, `/dashboard/summary?${query}`);
      expect(summary.currency).toBe(currency);
      await expectSummary(page, summary);
      if (summary.transactionCount === 0) continue;
      await expectTrend(page, await api(world.ann, `/dashboard/trends?interval=month&${query}`));
      await expectCategories(page, world.ann, query);
      await expectRecent(page, await api(world.ann, `/dashboard/recent?${query}`));
    }
    expectClean(recorded);
  });

  it('says which exchange rates are missing when the figures cannot be reported in a currency', async () => {
    const recorded = await signedIn(world.ann);
    const { page } = recorded;
    await choose(page, 'currency', 'JPY');
    const status = await page.$eval('#status', (el) => el.textContent ?? '');
    expect(status).toMatch(
      /^Figures in JPY need exchange rates that are missing: USD to JPY on \d{4}-\d{2}-\d{2}/,
    );
    expect(await page.$$('#summary')).toHaveLength(0);
    expect(recorded.api.at(-1)).toMatchObject({ status: 422 });
    expectClean(recorded, [422]);
  });

  it('shows a viewer the summary and latest transactions only: no trend or category chart', async () => {
    const recorded = await signedIn(world.vic);
    const { page } = recorded;
    const overview = await api(world.vic, '/dashboard');
    expect(Object.keys(overview).sort()).toEqual(['recent', 'summary']);
    await expectSummary(page, await api(world.vic, '/dashboard/summary'));
    await expectRecent(page, await api(world.vic, '/dashboard/recent'));
    expect(await page.$$('#trend, #categories, #organisation, canvas')).toHaveLength(0);
    expect(await page.$eval('#user-filter', (el) => (el as HTMLElement).hidden)).toBe(true);
    // The page never asked for what the viewer may not read.
    expect(recorded.api.filter((a) => a.status === 403)).toEqual([]);
    expectClean(recorded);
  });

  it("gives an admin the organisation's figures and a user picker, with the API's figures for each choice", async () => {
    const recorded = await signedIn(world.admin);
    const { page } = recorded;
    const overview = await api<{ byUser: (Totals & { name: string; email: string })[] }>(
      world.admin,
      '/dashboard',
    );
    await expectSummary(page, await api(world.admin, '/dashboard/summary'));
    await expectTrend(page, await api(world.admin, '/dashboard/trends?interval=month'));
    expect(await tableRows(page, 'by-user-table')).toEqual(
      overview.byUser.map((u) => [
        u.name,
        u.email,
        u.totalIncome,
        u.totalExpenses,
        u.netBalance,
        String(u.transactionCount),
      ]),
    );
    const users = await api<{ data: { id: string; name: string; email: string }[] }>(
      world.admin,
      '/users?limit=100',
    );
    const options = await page.$$eval('#user option', (els) =>
      els.map((o) => [o.value, o.textContent]),
    );
    expect(options[0]).toEqual(['', 'Whole organisation']);
    expect(options.slice(1).sort()).toEqual(
      users.data.map((u) => [u.id, `${u.name} (${u.email})`]).sort(),
    );

    await choose(page, 'user', world.ann.id);
    await expectSummary(page, await api(world.admin, `/dashboard/summary?userId=${world.ann.id}`));
    await expectTrend(
      page,
      await api(world.admin, `/dashboard/trends?interval=month&userId=${world.ann.id}`),
    );
    await expectCategories(page, world.admin, `userId=${world.ann.id}`);
    await choose(page, 'currency', 'EUR');
    await expectSummary(
      page,
      await api(world.admin, `/dashboard/summary?currency=EUR&userId=${world.ann.id}`),
    );
    expectClean(recorded);
  });

  it("gives an auditor the organisation and the user picker, other people's emails and notes masked as the API masks them", async () => {
    const recorded = await signedIn(world.audrey);
    const { page } = recorded;
    const overview = await api<{
      byUser: (Totals & { name: string; email: string })[];
      recent: Tx[];
    }>(world.audrey, '/dashboard');
    await expectSummary(page, await api(world.audrey, '/dashboard/summary'));
    const byUser = await tableRows(page, 'by-user-table');
    expect(byUser).toEqual(
      overview.byUser.map((u) => [
        u.name,
        u.email,
        u.totalIncome,
        u.totalExpenses,
        u.netBalance,
        String(u.transactionCount),
      ]),
    );
    expect(byUser.find((row) => row[0] === 'Ann Analyst')?.[1]).toMatch(/^a\*\*\*@/);
    await expectRecent(page, overview.recent);
    expect(overview.recent.some((t) => t.notes === '[masked]')).toBe(true);
    expect(await page.$eval('#user-filter', (el) => (el as HTMLElement).hidden)).toBe(false);
    await choose(page, 'user', world.ann.id);
    await expectSummary(page, await api(world.audrey, `/dashboard/summary?userId=${world.ann.id}`));
    expectClean(recorded);
  });

  it('shows markup in names, categories and notes as text', async () => {
    const recorded = await signedIn(world.mallory);
    const { page } = recorded;
    expect(await page.$eval('#who', (el) => el.textContent)).toBe(`${HOSTILE_NAME} (analyst)`);
    expect(await tableRows(page, 'category-table')).toEqual([
      [HOSTILE_CATEGORY, '6.66', '100.00', '1'],
    ]);
    const recent = await tableRows(page, 'recent-table');
    expect(recent[0].slice(1, 2)).toEqual([HOSTILE_CATEGORY]);
    expect(recent[0][5]).toBe(HOSTILE_NOTES);
    expect(await page.$$('#content img, #content script, #content b, header script')).toHaveLength(
      0,
    );

    const admin = await signedIn(world.admin);
    const names = await admin.page.$$eval('#user option', (els) => els.map((o) => o.textContent));
    expect(names).toContain(`${HOSTILE_NAME} (${world.mallory.email})`);
    expect((await tableRows(admin.page, 'by-user-table')).map((row) => row[0])).toContain(
      HOSTILE_NAME,
    );
    expect(await admin.page.$$('#content img, #content script')).toHaveLength(0);
    expectClean(recorded);
    expectClean(admin);
  });

  it('tells a user with no transactions that there are none yet', async () => {
    const recorded = await signedIn(world.nell);
    const { page } = recorded;
    expect(await page.$eval('#empty h2', (el) => el.textContent)).toBe('No transactions yet');
    await expectSummary(page, await api(world.nell, '/dashboard/summary'));
    expect(await page.$$('#trend, #categories, #recent, canvas')).toHaveLength(0);
    expectClean(recorded);
  });

  it('signs in and out with the keyboard alone', async () => {
    const recorded = await visit();
    const { page } = recorded;
    const focused = () => focusedId(page);
    await page.waitForFunction(() => document.activeElement?.id === 'email');
    await page.keyboard.type(world.ann.email);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('password');
    await page.keyboard.type(world.ann.password);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('signin-button');
    await page.keyboard.press('Enter');
    await settled(page);
    expect(await focused()).toBe('dashboard-title');
    expect(await page.$$('#summary')).toHaveLength(1);

    await page.keyboard.press('Tab');
    expect(await focused()).toBe('range');
    // Back past the title (focusable by script only) to the header's sign-out button.
    await page.keyboard.down('Shift');
    await page.keyboard.press('Tab');
    await page.keyboard.up('Shift');
    expect(await focused()).toBe('signout');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#signin:not([hidden])');
    expect(await page.$eval('#signin-note', (el) => el.textContent)).toBe('You have signed out.');
    expectClean(recorded);
  });

  it('revokes the session on sign-out: its refresh token no longer works', async () => {
    const recorded = await visit();
    const { page } = recorded;
    const login = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    await signIn(page, world.vic.email, world.vic.password);
    const { refreshToken } = (await (await login).json()) as { refreshToken: string };
    await settled(page);
    await page.click('#signout');
    await page.waitForSelector('#signin:not([hidden])');
    expect(recorded.api.filter((a) => a.path === '/auth/logout')).toEqual([
      { method: 'POST', path: '/auth/logout', status: 204, retryAfter: undefined },
    ]);
    await app.http().post('/api/v1/auth/refresh').send({ refreshToken }).expect(401);
    expectClean(recorded);
  });

  it('has no serious or critical axe-core violation, signed out and signed in (analyst, admin)', async () => {
    const signedOut = await visit();
    await signedOut.page.waitForFunction(() => document.activeElement?.id === 'email');
    expect(await seriousViolations(signedOut.page)).toEqual([]);
    for (const user of [world.ann, world.admin]) {
      const { page } = await signedIn(user);
      // Every table behind its toggle too.
      for (const toggle of await page.$$('details summary')) await toggle.click();
      expect(await seriousViolations(page)).toEqual([]);
    }
  });
});
