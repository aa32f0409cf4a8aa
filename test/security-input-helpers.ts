import type { TestApp } from './app';
import { bearer, createUser, loginAdmin, type TestUser } from './factories';
import { validTx } from './transactions';

/** What the hostile-input e2e files (security-input-*.e2e-spec.ts) share. */

/** Rows whose notes hold the characters attackers use, to prove searches match them literally. */
const SEED = [
  { category: 'Food', notes: 'plain lunch' },
  { category: 'Pct', notes: '100% juice' },
  { category: 'Under', notes: 'snake_case note' },
  { category: 'Slash', notes: 'back\\slash' },
  { category: 'Quote', notes: "O'Brien ' OR 1=1 --" },
  { category: 'Drop', notes: '"; DROP TABLE transactions; --' },
  { category: 'Café', notes: 'crème brûlée 🍮' },
];

/** validTx() as these files write it: 10.00 on 2026-02-01. */
export const tx = (over: Record<string, unknown> = {}) =>
  validTx({ amount: '10.00', date: '2026-02-01', ...over });

export interface TableCounts {
  transactions: number;
  users: number;
}

export interface HostileInputUsers {
  admin: TestUser;
  analyst: TestUser;
  victim: TestUser;
  /** The analyst's first seeded row. */
  ownTx: string;
}

/**
 * The users every hostile-input file attacks with and against: the admin, the analyst "Ana Lyst"
 * and the analyst "Vic Tim" (the victim), each owning one row per SEED entry.
 */
export async function seedHostileInput(app: TestApp): Promise<HostileInputUsers> {
  const admin = await loginAdmin(app);
  const [analyst, victim] = await Promise.all([
    createUser(app, admin, 'analyst', { name: 'Ana Lyst' }),
    createUser(app, admin, 'analyst', { name: 'Vic Tim' }),
  ]);
  let ownTx: string | undefined;
  for (const row of SEED) {
    const res = await app
      .http()
      .post('/api/v1/transactions')
      .set(bearer(analyst))
      .send(tx(row))
      .expect(201);
    ownTx ??= res.body.id;
  }
  // The victim's rows hold every search term too: an injection that escapes the owner filter
  // would show them.
  for (const row of SEED) {
    await app.http().post('/api/v1/transactions').set(bearer(victim)).send(tx(row)).expect(201);
  }
  return { admin, analyst, victim, ownTx: ownTx! };
}

/**
 * The requests the hostile-input tests make, bound to the file's app (a getter, because the
 * file's beforeAll starts the app after these helpers are created).
 */
export function hostileInputHelpers(getApp: () => TestApp) {
  async function tableCounts() {
    const { rows } = await getApp().sql.query(
      `SELECT (SELECT count(*) FROM transactions)::int AS transactions, (SELECT count(*) FROM users)::int AS users`,
    );
    return rows[0] as TableCounts;
  }

  const get = (user: TestUser, path: string) => getApp().http().get(path).set(bearer(user));

  /** Sends `body` exactly as given (no serialisation by the client). */
  const raw = (
    method: 'post' | 'patch',
    path: string,
    body: string | Buffer,
    user?: TestUser,
    contentType = 'application/json',
  ) => {
    const req = getApp().http()[method](path).set('Content-Type', contentType);
    if (user) req.set(bearer(user));
    return req.send(body);
  };

  return { tableCounts, get, raw };
}
