import { startApp, type TestApp } from '../app';
import {
  addDays,
  createAll,
  dash,
  monthStart,
  pluck,
  point,
  todayIn,
  usdSummary,
} from '../dashboard-helpers';
import { createUser, loginAdmin, type TestUser } from '../factories';
import type { TxBody } from '../transactions';

// jest.config.js sets testTimeout per project, which jest ignores; starting an app can take >5 s.
jest.setTimeout(60_000);

/**
 * Named ranges end "today" in REPORT_TIME_ZONE. The rows sit on the edges of each range, placed
 * relative to today, and each range is checked against its definition in the API:
 * mtd [1st of this month, today], ytd [Jan 1, today], last30d [today - 29 days, today],
 * last12m [1st of the month 11 months back, today]. Every amount is a distinct power of two, so
 * the total names exactly the rows counted.
 */
type RangeName = 'mtd' | 'ytd' | 'last30d' | 'last12m';

function window(range: RangeName, today: string): [string, string] {
  const from = {
    mtd: monthStart(today),
    ytd: `${today.slice(0, 4)}-01-01`,
    last30d: addDays(today, -29),
    last12m: monthStart(today, -11),
  }[range];
  return [from, today];
}

/** One expense per date, amounts 1.00, 2.00, 4.00, ... */
async function seed(app: TestApp, user: TestUser, dates: string[]): Promise<TxBody[]> {
  return createAll(
    app,
    user,
    dates.map((date, k) => ({
      type: 'expense' as const,
      amount: `${2 ** k}.00`,
      category: 'Edge',
      date,
    })),
  );
}

/** Asserts /summary and /recent for a named range against the rows inside its window. */
async function expectRange(
  app: TestApp,
  user: TestUser,
  rows: TxBody[],
  range: RangeName,
  today: string,
): Promise<string[]> {
  const [from, to] = window(range, today);
  const inside = rows.filter((r) => r.date >= from && r.date <= to);
  const dollars = inside.reduce((s, r) => s + Number(r.amount.slice(0, -3)), 0); // whole dollars
  const summary = await dash(app, user, '/summary', { range }).expect(200);
  expect(summary.body).toEqual(
    usdSummary('0.00', `${dollars}.00`, dollars === 0 ? '0.00' : `-${dollars}.00`, inside.length),
  );
  const recent = await dash(app, user, '/recent', { range, limit: 50 }).expect(200);
  const ids = inside.map((r) => r.id).sort();
  expect((pluck(recent.body, 'id') as string[]).sort()).toEqual(ids);
  return ids;
}

/**
 * Runs the check with the zone's today; if it fails and the zone's date changed meanwhile
 * (midnight passed during the request), runs it again with the new date.
 */
async function onStableDay<T>(zone: string, check: (today: string) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const today = todayIn(zone);
    try {
      return await check(today);
    } catch (error) {
      if (attempt >= 2 || todayIn(zone) === today) throw error;
    }
  }
}

describe('dashboard named ranges in UTC (the default)', () => {
  let app: TestApp;
  let admin: TestUser;
  let ray: TestUser;
  let rows: TxBody[];

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    ray = await createUser(app, admin, 'analyst');
    const t = todayIn('UTC');
    rows = await seed(app, ray, [
      t,
      addDays(t, 1),
      addDays(t, -29),
      addDays(t, -30),
      monthStart(t),
      addDays(monthStart(t), -1),
      `${t.slice(0, 4)}-01-01`,
      `${Number(t.slice(0, 4)) - 1}-12-31`,
      monthStart(t, -11),
      addDays(monthStart(t, -11), -1),
    ]);
  });
  afterAll(() => app?.stop());

  it.each(['mtd', 'ytd', 'last30d', 'last12m'] as const)(
    'counts exactly the rows from the start of %s through today',
    async (range) => {
      await onStableDay('UTC', (today) => expectRange(app, ray, rows, range, today));
    },
  );

  it('counts every row, future ones included, with range=all and by default', async () => {
    const all = await dash(app, ray, '/summary', { range: 'all' }).expect(200);
    expect(all.body).toEqual(usdSummary('0.00', '1023.00', '-1023.00', 10));
    expect((await dash(app, ray, '/summary').expect(200)).body).toEqual(all.body);
  });

  it('gives monthly trends for last12m as the current month and the 11 before it', async () => {
    await onStableDay('UTC', async (today) => {
      const res = await dash(app, ray, '/trends', { range: 'last12m' }).expect(200);
      expect(pluck(res.body, 'period')).toEqual(
        Array.from({ length: 12 }, (_, k) => monthStart(today, k - 11).slice(0, 7)),
      );
      const mtd = await dash(app, ray, '/trends', { range: 'mtd' }).expect(200);
      expect(pluck(mtd.body, 'period')).toEqual([today.slice(0, 7)]);
    });
  });

  describe('rows at both ends of the valid date range', () => {
    let dora: TestUser;

    beforeAll(async () => {
      dora = await createUser(app, admin, 'analyst');
      await createAll(app, dora, [
        { type: 'income', amount: '1.00', category: 'Old', date: '1900-01-01' },
        { type: 'expense', amount: '2.00', category: 'Typo', date: '2999-12-31' },
      ]);
    });

    it('still answers /dashboard and monthly trends without parameters', async () => {
      // 1900-01 .. 2999-12 is 13,200 months: the most a valid range can ever span.
      const overview = await dash(app, dora, '').expect(200);
      const trends = await dash(app, dora, '/trends').expect(200);
      expect(overview.body.trends).toEqual(trends.body);
      expect(trends.body).toHaveLength(13_200);
      expect(trends.body[0]).toEqual(point('1900-01', '1.00', '0.00', '1.00'));
      expect(trends.body[13_199]).toEqual(point('2999-12', '0.00', '2.00', '-2.00'));
      expect(overview.body.summary).toEqual(usdSummary('1.00', '2.00', '-1.00', 2));
    });

    it('answers exactly 10,000 weeks and refuses one more', async () => {
      // 1900-01-01 is a Monday; 69,993 days later starts the 10,000th week.
      const from = '1900-01-01';
      const lastWeek = addDays(from, 9_999 * 7);
      const ok = await dash(app, dora, '/trends', { interval: 'week', from, to: lastWeek });
      expect(ok.status).toBe(200);
      expect(ok.body).toHaveLength(10_000);
      const over = await dash(app, dora, '/trends', {
        interval: 'week',
        from,
        to: addDays(lastWeek, 7),
      }).expect(400);
      expect(over.body.errors).toEqual([expect.objectContaining({ field: 'interval' })]);
    });

    it('refuses weekly trends over more than 10,000 weeks with a 400 naming interval', async () => {
      const res = await dash(app, dora, '/trends', { interval: 'week' }).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'interval' })]);
    });
  });
});

/**
 * With a zone 14 hours ahead of UTC and one 12 hours behind it, the two "todays" are always one
 * or two days apart, whatever the hour the test runs at, so each app's answer shows which date
 * it used.
 */
describe('dashboard named ranges with REPORT_TIME_ZONE', () => {
  const EAST = 'Pacific/Kiritimati'; // UTC+14, no DST
  const WEST = 'Etc/GMT+12'; // UTC-12
  const apps: Record<string, { app: TestApp; user: TestUser; rows: TxBody[] }> = {};
  const started: TestApp[] = [];

  beforeAll(async () => {
    await Promise.all(
      [EAST, WEST].map(async (zone) => {
        const app = await startApp({ REPORT_TIME_ZONE: zone });
        started.push(app);
        const admin = await loginAdmin(app);
        const user = await createUser(app, admin, 'analyst');
        const e = todayIn(EAST);
        const w = todayIn(WEST);
        const rows = await seed(app, user, [
          e,
          w,
          addDays(e, -29),
          addDays(w, -29),
          addDays(e, -30),
          addDays(w, -30),
          monthStart(e),
          addDays(monthStart(e), -1),
          monthStart(w),
          addDays(monthStart(w), -1),
        ]);
        apps[zone] = { app, user, rows };
      }),
    );
  }, 120_000); // two app starts
  afterAll(() => Promise.all(started.map((app) => app.stop())));

  it.each([EAST, WEST])('computes last30d and mtd from today in %s', async (zone) => {
    const { app, user, rows } = apps[zone];
    await onStableDay(zone, async (today) => {
      await expectRange(app, user, rows, 'last30d', today);
      await expectRange(app, user, rows, 'mtd', today);
    });
  });

  it('answers last30d differently in the two zones for the same rows', async () => {
    // The row dated today in the east is still tomorrow (or later) in the west.
    const east = apps[EAST];
    const west = apps[WEST];
    const eastToday = east.rows[0];
    const inEast = await dash(app(EAST), east.user, '/recent', { range: 'last30d', limit: 50 });
    const inWest = await dash(app(WEST), west.user, '/recent', { range: 'last30d', limit: 50 });
    expect(inEast.status).toBe(200);
    expect(inWest.status).toBe(200);
    expect(pluck(inEast.body, 'date')).toContain(eastToday.date);
    expect(pluck(inWest.body, 'date')).not.toContain(eastToday.date);
    expect(pluck(inWest.body, 'date')).toContain(west.rows[1].date);

    function app(zone: string): TestApp {
      return apps[zone].app;
    }
  });
});
