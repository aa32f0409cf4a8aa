import { randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, deactivate, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { TX, validTx } from '../transactions';
import { readUntil, sleep } from '../waits';

jest.setTimeout(60_000);

const ACCOUNTS = '/api/v1/accounts';

interface AccountBody {
  id: string;
  ownerId: string;
  name: string;
  type: string;
  currency: string;
  openingBalance: string;
  openingDate: string;
  archived: boolean;
  balance: string;
  createdAt: string;
  updatedAt: string;
}

const today = () => new Date().toISOString().slice(0, 10);

describe('accounts: CRUD, roles, validation, balances, references', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;
  let viewer: TestUser;
  let auditor: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, other, viewer, auditor] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'viewer'),
      createUser(app, admin, 'auditor'),
    ]);
  });
  afterAll(() => app?.stop());

  const open = async (user: TestUser, body: Record<string, unknown> = {}): Promise<AccountBody> => {
    const res = await app
      .http()
      .post(ACCOUNTS)
      .set(bearer(user))
      .send({ name: 'Checking', type: 'checking', currency: 'USD', ...body });
    if (res.status !== 201)
      throw new Error(`open account failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as AccountBody;
  };
  const book = (user: TestUser, body: Record<string, unknown>) =>
    app
      .http()
      .post(TX)
      .set(bearer(user))
      .send(validTx({ amount: '10.00', date: '2026-03-01', ...body }));
  const get = (user: TestUser, path: string) => app.http().get(path).set(bearer(user));
  const patch = (user: TestUser, id: string, body: Record<string, unknown>) =>
    app.http().patch(`${ACCOUNTS}/${id}`).set(bearer(user)).send(body);

  describe('create', () => {
    it('opens an account for an analyst: 201, Location, defaults (zero, today), balance', async () => {
      const res = await app
        .http()
        .post(ACCOUNTS)
        .set(bearer(analyst))
        .send({ name: '  Wallet  ', type: 'cash', currency: 'EUR' })
        .expect(201);
      expect(res.body).toMatchObject({
        ownerId: analyst.id,
        name: 'Wallet',
        type: 'cash',
        currency: 'EUR',
        openingBalance: '0.00',
        openingDate: today(),
        archived: false,
        balance: '0.00',
      });
      expect(res.headers.location).toBe(`${ACCOUNTS}/${res.body.id}`);
      const fetched = await get(analyst, res.headers.location).expect(200);
      expect(fetched.body).toEqual(res.body);
    });

    it('formats the opening balance with the currency minor units and takes a negative one', async () => {
      expect(
        (await open(analyst, { currency: 'JPY', openingBalance: '1200' })).openingBalance,
      ).toBe('1200');
      const kwd = await open(analyst, { currency: 'KWD', openingBalance: '1.5' });
      expect(kwd).toMatchObject({ openingBalance: '1.500', balance: '1.500' });
      const card = await open(analyst, {
        type: 'credit_card',
        openingBalance: '-250.5',
        openingDate: '2026-01-01',
      });
      expect(card).toMatchObject({
        openingBalance: '-250.50',
        balance: '-250.50',
        openingDate: '2026-01-01',
      });
      expect((await open(analyst, { openingBalance: -3 })).openingBalance).toBe('-3.00');
    });

    it.each([
      [{ currency: 'usd' }, 'currency'],
      [{ currency: 'ZZZ' }, 'currency'],
      [{ currency: 'JPY', openingBalance: '100.5' }, 'openingBalance'],
      [{ currency: 'JPY', openingBalance: '100.0' }, 'openingBalance'],
      [{ currency: 'USD', openingBalance: '1.005' }, 'openingBalance'],
      [{ currency: 'KWD', openingBalance: '1.0005' }, 'openingBalance'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: '   ' }, 'name'],
      [{ type: 'piggy_bank' }, 'type'],
      [{ openingDate: '2026-02-30' }, 'openingDate'],
      [{ openingBalance: '12,50' }, 'openingBalance'],
    ])('refuses %j with a 400 naming %s', async (body, field) => {
      const res = await app
        .http()
        .post(ACCOUNTS)
        .set(bearer(analyst))
        .send({ name: 'Bad', type: 'checking', currency: 'USD', ...body });
      expectProblem(res, 400, [field]);
    });

    it('accepts 100 code points of name (emoji count once)', async () => {
      expect((await open(analyst, { name: '💶'.repeat(100) })).name).toBe('💶'.repeat(100));
    });

    it('lets an admin open an account for an active user; an inactive or unknown one is a 422', async () => {
      const made = await open(admin, { ownerId: other.id });
      expect(made.ownerId).toBe(other.id);
      const leaver = await createUser(app, admin, 'analyst');
      await deactivate(app, admin, leaver);
      expectProblem(
        await app
          .http()
          .post(ACCOUNTS)
          .set(bearer(admin))
          .send({ name: 'X', type: 'cash', currency: 'USD', ownerId: leaver.id }),
        422,
      );
      expectProblem(
        await app
          .http()
          .post(ACCOUNTS)
          .set(bearer(admin))
          .send({ name: 'X', type: 'cash', currency: 'USD', ownerId: randomUUID() }),
        422,
      );
    });

    it('forbids an analyst to open an account for someone else, and viewers and auditors any', async () => {
      const body = { name: 'X', type: 'cash', currency: 'USD' };
      expectProblem(
        await app
          .http()
          .post(ACCOUNTS)
          .set(bearer(analyst))
          .send({ ...body, ownerId: other.id }),
        403,
      );
      for (const user of [viewer, auditor]) {
        expectProblem(await app.http().post(ACCOUNTS).set(bearer(user)).send(body), 403);
      }
    });
  });

  describe('read', () => {
    let mine: AccountBody;
    let theirs: AccountBody;
    let viewers: AccountBody;

    beforeAll(async () => {
      mine = await open(analyst, { name: 'Mine' });
      theirs = await open(other, { name: 'Theirs' });
      viewers = await open(admin, { ownerId: viewer.id, name: 'Viewer’s' });
    });

    it("answers someone else's account with 404, to analysts and viewers alike", async () => {
      expectProblem(await get(analyst, `${ACCOUNTS}/${theirs.id}`), 404);
      expectProblem(await get(analyst, `${ACCOUNTS}/${theirs.id}/balance`), 404);
      expectProblem(await get(viewer, `${ACCOUNTS}/${mine.id}`), 404);
      expect((await get(viewer, `${ACCOUNTS}/${viewers.id}`).expect(200)).body.id).toBe(viewers.id);
      expectProblem(await get(analyst, `${ACCOUNTS}/${randomUUID()}`), 404);
      expectProblem(await get(analyst, `${ACCOUNTS}/not-a-uuid`), 400, ['id']);
    });

    it('lists only your own accounts; an ownerId filter from an analyst is a 403', async () => {
      const res = await get(analyst, `${ACCOUNTS}?limit=100`).expect(200);
      const rows = res.body.data as AccountBody[];
      expect(rows.map((r) => r.id)).toContain(mine.id);
      expect(rows.every((r) => r.ownerId === analyst.id)).toBe(true);
      expectProblem(await get(analyst, `${ACCOUNTS}?ownerId=${other.id}`), 403);
    });

    it('lets the auditor and the admin read every account, and narrow by ownerId', async () => {
      for (const reader of [auditor, admin]) {
        expect((await get(reader, `${ACCOUNTS}/${theirs.id}`).expect(200)).body.name).toBe(
          'Theirs',
        );
        await get(reader, `${ACCOUNTS}/${theirs.id}/balance`).expect(200);
        const all = (await get(reader, `${ACCOUNTS}?limit=100`).expect(200)).body
          .data as AccountBody[];
        expect(all.map((r) => r.id)).toEqual(expect.arrayContaining([mine.id, theirs.id]));
        const narrowed = (
          await get(reader, `${ACCOUNTS}?ownerId=${other.id}&limit=100`).expect(200)
        ).body.data as AccountBody[];
        expect(narrowed.length).toBeGreaterThan(0);
        expect(narrowed.every((r) => r.ownerId === other.id)).toBe(true);
      }
    });

    it('pages with a cursor, oldest first, every account once', async () => {
      const seen: string[] = [];
      let cursor = '';
      for (let i = 0; i < 50; i++) {
        const res = await get(admin, `${ACCOUNTS}?limit=2&cursor=${cursor}`).expect(200);
        expect(res.body.meta.limit).toBe(2);
        seen.push(...(res.body.data as AccountBody[]).map((r) => r.id));
        if (res.body.meta.nextCursor === null) break;
        cursor = encodeURIComponent(res.body.meta.nextCursor as string);
      }
      const all = (await get(admin, `${ACCOUNTS}?limit=100`).expect(200)).body
        .data as AccountBody[];
      expect(seen).toEqual(all.map((r) => r.id));
      expect(new Set(seen).size).toBe(seen.length);
      expectProblem(await get(admin, `${ACCOUNTS}?cursor=forged.cursor`), 400, ['cursor']);
    });

    it('refuses unknown and repeated query parameters', async () => {
      expectProblem(await get(analyst, `${ACCOUNTS}?includeArchive=true`), 400);
      expectProblem(
        await get(analyst, `${ACCOUNTS}?includeArchived=true&includeArchived=false`),
        400,
      );
      expectProblem(await get(analyst, `${ACCOUNTS}?includeArchived=yes`), 400, [
        'includeArchived',
      ]);
      expectProblem(await get(analyst, `${ACCOUNTS}/${mine.id}/balance?asOf=2026-13-01`), 400, [
        'asOf',
      ]);
    });
  });

  describe('update and archive', () => {
    it('lets the owner rename, retype and archive; archived accounts leave the default list', async () => {
      const acc = await open(analyst, { name: 'Old' });
      const res = await patch(analyst, acc.id, { name: ' New ', type: 'savings' }).expect(200);
      expect(res.body).toMatchObject({ name: 'New', type: 'savings', archived: false });
      expect(res.headers.etag).toBeDefined();
      await patch(analyst, acc.id, { archived: true }).expect(200);
      const listed = (await get(analyst, `${ACCOUNTS}?limit=100`).expect(200)).body
        .data as AccountBody[];
      expect(listed.map((r) => r.id)).not.toContain(acc.id);
      const withArchived = (
        await get(analyst, `${ACCOUNTS}?limit=100&includeArchived=true`).expect(200)
      ).body.data as AccountBody[];
      expect(withArchived.find((r) => r.id === acc.id)?.archived).toBe(true);
      // Still readable on its own.
      expect((await get(analyst, `${ACCOUNTS}/${acc.id}`).expect(200)).body.archived).toBe(true);
    });

    it("gives an analyst 404 for someone else's account, viewers and auditors 403; admins may", async () => {
      const theirs = await open(other);
      expectProblem(await patch(analyst, theirs.id, { name: 'Mine now' }), 404);
      expectProblem(await patch(viewer, theirs.id, { name: 'x' }), 403);
      expectProblem(await patch(auditor, theirs.id, { name: 'x' }), 403);
      expect((await patch(admin, theirs.id, { name: 'By admin' }).expect(200)).body.name).toBe(
        'By admin',
      );
    });

    it('refuses an empty patch, null fields, unknown fields and an unchangeable field', async () => {
      const acc = await open(analyst);
      expectProblem(await patch(analyst, acc.id, {}), 400, ['body']);
      expectProblem(await patch(analyst, acc.id, { name: null }), 400, ['name']);
      expectProblem(await patch(analyst, acc.id, { archived: 'yes' }), 400, ['archived']);
      expectProblem(await patch(analyst, acc.id, { openingBalance: '5.00' }), 400);
      expectProblem(await patch(analyst, acc.id, { currency: 'eur' }), 400, ['currency']);
    });

    it('honours If-Match: a stale tag is a 412', async () => {
      const acc = await open(analyst);
      const read = await get(analyst, `${ACCOUNTS}/${acc.id}`).expect(200);
      const etag = read.headers.etag;
      await patch(analyst, acc.id, { name: 'Once' }).set('If-Match', etag).expect(200);
      expectProblem(await patch(analyst, acc.id, { name: 'Twice' }).set('If-Match', etag), 412);
    });

    it('changes the currency while nothing references the account, keeping the opening value', async () => {
      const acc = await open(analyst, { openingBalance: '12.00' });
      const res = await patch(analyst, acc.id, { currency: 'JPY' }).expect(200);
      expect(res.body).toMatchObject({ currency: 'JPY', openingBalance: '12', balance: '12' });
      const cents = await open(analyst, { openingBalance: '12.50' });
      expectProblem(await patch(analyst, cents.id, { currency: 'JPY' }), 400, ['currency']);
    });
  });

  describe('transactions booked to accounts', () => {
    let usd: AccountBody;
    let eur: AccountBody;
    let archived: AccountBody;
    let theirs: AccountBody;

    beforeAll(async () => {
      usd = await open(analyst, {
        currency: 'USD',
        openingBalance: '100.00',
        openingDate: '2026-01-01',
      });
      eur = await open(analyst, { currency: 'EUR' });
      archived = await open(analyst);
      await patch(analyst, archived.id, { archived: true }).expect(200);
      theirs = await open(other);
    });

    it("takes the account's currency when none is sent", async () => {
      const res = await book(analyst, { accountId: eur.id, amount: '5.5' }).expect(201);
      expect(res.body).toMatchObject({ accountId: eur.id, currency: 'EUR', amount: '5.50' });
    });

    it("refuses someone else's account, an archived account and a currency mismatch with 422", async () => {
      expectProblem(await book(analyst, { accountId: theirs.id }), 422, ['accountId']);
      expectProblem(await book(analyst, { accountId: randomUUID() }), 422, ['accountId']);
      expectProblem(await book(analyst, { accountId: archived.id }), 422, ['accountId']);
      expectProblem(await book(analyst, { accountId: usd.id, currency: 'EUR' }), 422, ['currency']);
      // An admin booking for the analyst must still use the analyst's account.
      expectProblem(await book(admin, { accountId: theirs.id, ownerId: analyst.id }), 422, [
        'accountId',
      ]);
    });

    it('refuses a booking that races an archive in flight (422, nothing written)', async () => {
      const acc = await open(analyst);
      const archiver = await app.sql.connect();
      try {
        // What PATCH { archived: true } does, held open: the booking checks the account first
        // (still open in its snapshot), then its insert must wait for the archive and see it.
        await archiver.query('BEGIN');
        await archiver.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [acc.id]);
        await archiver.query('UPDATE accounts SET archived = true WHERE id = $1', [acc.id]);
        const booking = book(analyst, { accountId: acc.id }).then((res) => res);
        await sleep(500);
        await archiver.query('COMMIT');
        expectProblem(await booking, 422, ['accountId']);
      } finally {
        archiver.release();
      }
      const { rows } = await app.sql.query(
        'SELECT count(*)::int AS n FROM transactions WHERE account_id = $1',
        [acc.id],
      );
      expect(rows[0].n).toBe(0);
    });

    it('sums live income and expenses up to asOf into the balance, exactly', async () => {
      const acc = await open(analyst, { openingBalance: '0.10', openingDate: '2026-02-01' });
      await book(analyst, {
        accountId: acc.id,
        type: 'income',
        amount: '0.20',
        date: '2026-02-02',
      }).expect(201);
      await book(analyst, {
        accountId: acc.id,
        type: 'expense',
        amount: '0.05',
        date: '2026-02-10',
      }).expect(201);
      // Before the opening date: counted too (the opening balance is a start, not a cut-off).
      await book(analyst, {
        accountId: acc.id,
        type: 'income',
        amount: '1.00',
        date: '2026-01-15',
      }).expect(201);
      const later = await book(analyst, {
        accountId: acc.id,
        type: 'expense',
        amount: '999999999999.99',
        date: '2026-03-01',
      }).expect(201);
      const dropped = await book(analyst, {
        accountId: acc.id,
        type: 'income',
        amount: '7.00',
        date: '2026-02-03',
      }).expect(201);
      await app.http().delete(`${TX}/${dropped.body.id}`).set(bearer(admin)).expect(204);

      const at = (asOf: string) =>
        get(analyst, `${ACCOUNTS}/${acc.id}/balance?asOf=${asOf}`).expect(200);
      expect((await at('2026-02-05')).body).toEqual({
        accountId: acc.id,
        currency: 'USD',
        asOf: '2026-02-05',
        openingBalance: '0.10',
        income: '1.20',
        expenses: '0.00',
        transfersIn: '0.00',
        transfersOut: '0.00',
        balance: '1.30',
      });
      expect((await at('2026-02-28')).body).toMatchObject({ expenses: '0.05', balance: '1.25' });
      expect((await at('2026-03-01')).body).toMatchObject({
        expenses: '1000000000000.04',
        balance: '-999999999998.74',
      });
      expect((await at('2026-01-01')).body).toMatchObject({ income: '0.00', balance: '0.10' });
      // Default: today, which is after every row here.
      const now = await get(analyst, `${ACCOUNTS}/${acc.id}/balance`).expect(200);
      expect(now.body).toMatchObject({ asOf: today(), balance: '-999999999998.74' });
      expect((await get(analyst, `${ACCOUNTS}/${acc.id}`).expect(200)).body.balance).toBe(
        '-999999999998.74',
      );
      await app.http().delete(`${TX}/${later.body.id}`).set(bearer(admin)).expect(204);
      expect((await get(analyst, `${ACCOUNTS}/${acc.id}`).expect(200)).body.balance).toBe('1.25');
    });

    it('leaves future-dated rows out of the account body balance', async () => {
      const acc = await open(analyst, { currency: 'KWD', openingBalance: '1' });
      await book(analyst, {
        accountId: acc.id,
        type: 'income',
        amount: '0.005',
        date: '2999-12-31',
      }).expect(201);
      await book(analyst, {
        accountId: acc.id,
        type: 'income',
        amount: '0.001',
        date: '2000-01-01',
      }).expect(201);
      const body = (await get(analyst, `${ACCOUNTS}/${acc.id}`).expect(200)).body as AccountBody;
      expect(body.balance).toBe('1.001');
      const future = await get(analyst, `${ACCOUNTS}/${acc.id}/balance?asOf=2999-12-31`).expect(
        200,
      );
      expect(future.body.balance).toBe('1.006');
    });

    it('refuses a currency change (409) and a delete (409) while a row references it, even a deleted one', async () => {
      const acc = await open(analyst);
      const row = await book(analyst, { accountId: acc.id }).expect(201);
      await app.http().delete(`${TX}/${row.body.id}`).set(bearer(admin)).expect(204);
      expectProblem(await patch(analyst, acc.id, { currency: 'EUR' }), 409);
      expectProblem(await app.http().delete(`${ACCOUNTS}/${acc.id}`).set(bearer(admin)), 409);
      // Renaming and archiving still work; so does "changing" to the same currency.
      await patch(analyst, acc.id, { name: 'Kept', archived: true, currency: 'USD' }).expect(200);
    });
  });

  describe('delete', () => {
    it('hard-deletes an unreferenced account (admin): 204, then 404', async () => {
      const acc = await open(analyst);
      await app.http().delete(`${ACCOUNTS}/${acc.id}`).set(bearer(admin)).expect(204);
      expectProblem(await get(analyst, `${ACCOUNTS}/${acc.id}`), 404);
      expectProblem(await app.http().delete(`${ACCOUNTS}/${acc.id}`).set(bearer(admin)), 404);
    });

    it('forbids the owner (an analyst) to delete', async () => {
      const acc = await open(analyst);
      expectProblem(await app.http().delete(`${ACCOUNTS}/${acc.id}`).set(bearer(analyst)), 403);
    });
  });

  describe('audit trail and events', () => {
    it('records account.create, account.update and account.delete with the changed fields', async () => {
      const acc = await open(analyst, { name: 'Audited' });
      await patch(analyst, acc.id, { name: 'Renamed' }).expect(200);
      await app.http().delete(`${ACCOUNTS}/${acc.id}`).set(bearer(admin)).expect(204);
      const res = await get(
        admin,
        `/api/v1/audit-logs?entityType=account&entityId=${acc.id}`,
      ).expect(200);
      const entries = res.body.data as {
        action: string;
        actorId: string;
        changes: Record<string, unknown>;
      }[];
      expect(entries.map((e) => e.action)).toEqual([
        'account.delete',
        'account.update',
        'account.create',
      ]);
      expect(entries[1].changes).toEqual({ name: { before: 'Audited', after: 'Renamed' } });
      expect(entries[2].changes).toMatchObject({
        name: { before: null, after: 'Audited' },
        currency: { before: null, after: 'USD' },
        openingBalance: { before: null, after: '0.00' },
      });
      expect(entries[2].actorId).toBe(analyst.id);
    });

    it('emits account.created and account.updated, visible to the owner, admins and auditors only', async () => {
      const acc = await open(other, { name: 'Evented' });
      await patch(other, acc.id, { archived: true }).expect(200);
      const events = (user: TestUser) =>
        readUntil(
          async () => {
            const res = await get(
              user,
              '/api/v1/events?limit=100&types=account.created,account.updated',
            ).expect(200);
            return (res.body.data as { type: string; data: { id: string } }[]).filter(
              (e) => e.data.id === acc.id,
            );
          },
          (mine) => mine.length >= 2 || user === analyst,
        );
      for (const reader of [other, admin, auditor]) {
        const seen = await events(reader);
        expect(seen.map((e) => e.type)).toEqual(['account.created', 'account.updated']);
        expect(seen[1].data).toMatchObject({ id: acc.id, archived: true, ownerId: other.id });
      }
      expect(await events(analyst)).toEqual([]);
    });
  });
});
