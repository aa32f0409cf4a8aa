import type { TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';

/**
 * The people and data of the browser tests, made through the public API:
 * - Ann, an analyst with thirteen months of salary, rent, groceries and the like (USD, and some
 *   travel in EUR), the picture in docs/dashboard.png;
 * - Vic, a viewer with a few rows an admin booked for him;
 * - Mallory, an analyst whose name, category and notes are markup;
 * - Nell, an analyst with no rows yet; Audrey, an auditor;
 * - a EUR→USD rate for every day of the span, so every figure can be reported in EUR, and none
 *   into JPY, so a JPY report misses rates.
 */
export interface World {
  admin: TestUser;
  ann: TestUser & { name: string };
  vic: TestUser & { name: string };
  mallory: TestUser & { name: string };
  nell: TestUser & { name: string };
  audrey: TestUser & { name: string };
}

export const HOSTILE_CATEGORY = '<img src=x onerror=alert(1)>';
export const HOSTILE_NOTES = '<b onmouseover=alert(2)>bold</b><script>alert(3)</script>';
export const HOSTILE_NAME = '<script>alert(4)</script> Mallory';

const iso = (d: Date) => d.toISOString().slice(0, 10);
const cents = (n: number) => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;

/** Day `day` of the month `monthsBack` months before today's (UTC), or undefined if after today. */
function dayOf(monthsBack: number, day: number, today: Date): string | undefined {
  const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - monthsBack, day));
  return d <= today ? iso(d) : undefined;
}

function annRows(today: Date): string[] {
  const rows: string[] = [];
  const add = (
    date: string | undefined,
    type: string,
    amount: number,
    category: string,
    notes: string,
    currency = 'USD',
  ) => {
    if (date) rows.push([date, type, cents(amount), category, notes, currency].join(','));
  };
  for (let k = 12; k >= 0; k--) {
    const at = (day: number) => dayOf(k, day, today);
    add(at(1), 'income', 420_000 + (12 - k) * 2_500, 'Salary', 'monthly salary');
    if (k % 3 === 0) add(at(15), 'income', 65_000 + k * 1_000, 'Freelance', 'invoice paid');
    add(at(2), 'expense', 145_000, 'Rent', 'flat');
    for (const day of [6, 13, 20, 27])
      add(at(day), 'expense', 8_000 + ((k * 7 + day) % 50) * 100 + 35, 'Groceries', 'weekly shop');
    add(at(9), 'expense', 6_240, 'Transport', 'travel card');
    add(at(11), 'expense', 14_000 + k * 100, 'Utilities', 'power and water');
    add(at(17), 'expense', 4_590 + (k % 4) * 1_210, 'Dining', 'dinner out');
    for (const day of [8, 22]) add(at(day), 'expense', 450, 'Coffee', 'flat white');
    if (k % 4 === 1) add(at(24), 'expense', 32_000, 'Travel', 'train tickets', 'EUR');
  }
  return rows;
}

function ok(res: { status: number; body: unknown }, what: string, status: number): unknown {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function seed(app: TestApp): Promise<World> {
  const today = new Date();
  const admin = await loginAdmin(app);
  const named = async (role: 'analyst' | 'viewer' | 'auditor', name: string) => ({
    ...(await createUser(app, admin, role, { name })),
    name,
  });
  const ann = await named('analyst', 'Ann Analyst');
  const vic = await named('viewer', 'Vic Viewer');
  const mallory = await named('analyst', HOSTILE_NAME);
  const nell = await named('analyst', 'Nell Newcomer');
  const audrey = await named('auditor', 'Audrey Auditor');

  const csv = ['date,type,amount,category,notes,currency', ...annRows(today)].join('\n');
  await ok(
    await app
      .http()
      .post('/api/v1/transactions/import')
      .set(bearer(ann))
      .set('Content-Type', 'text/csv')
      .send(csv),
    'import Ann',
    201,
  );

  for (const [days, type, amount, category] of [
    [3, 'income', '900.00', 'Pocket money'],
    [10, 'expense', '35.50', 'Books'],
    [40, 'expense', '12.00', 'Snacks'],
  ] as const) {
    const date = iso(new Date(today.getTime() - days * 86_400_000));
    await ok(
      await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(admin))
        .send({ ownerId: vic.id, type, amount, category, date }),
      'create for Vic',
      201,
    );
  }
  await ok(
    await app
      .http()
      .post('/api/v1/transactions')
      .set(bearer(mallory))
      .send({
        type: 'expense',
        amount: '6.66',
        category: HOSTILE_CATEGORY,
        notes: HOSTILE_NOTES,
        date: iso(today),
      }),
    'create for Mallory',
    201,
  );

  const rates = ['base,quote,date,rate'];
  for (
    let d = new Date(Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth() - 1, 1));
    d <= today;
    d = new Date(d.getTime() + 86_400_000)
  ) {
    rates.push(`EUR,USD,${iso(d)},${(1.08 + (d.getUTCDate() % 10) / 1000).toFixed(4)}`);
  }
  await ok(
    await app
      .http()
      .post('/api/v1/exchange-rates/import')
      .set(bearer(admin))
      .set('Content-Type', 'text/csv')
      .send(rates.join('\n')),
    'import rates',
    201,
  );
  return { admin, ann, vic, mallory, nell, audrey };
}
