import { randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { readUntil } from '../waits';
import { WebhookReceiver } from '../webhook-receiver';

jest.setTimeout(60_000);

const ACCOUNTS = '/api/v1/accounts';
const TRANSFERS = '/api/v1/transfers';

interface TransferBody {
  id: string;
  ownerId: string;
  fromAccountId: string;
  toAccountId: string;
  amount: string;
  currency: string;
  toAmount: string;
  toCurrency: string;
  rate: string;
  date: string;
  notes: string | null;
  createdAt: string;
}

interface FeedEvent {
  type: string;
  data: Record<string, unknown>;
}

describe('transfers: rules, rates, balances, lifecycle, visibility', () => {
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

  const open = async (owner: TestUser, currency = 'USD', openingBalance = '0'): Promise<string> => {
    const res = await app
      .http()
      .post(ACCOUNTS)
      .set(bearer(admin))
      .send({
        name: `${currency} account`,
        type: 'checking',
        currency,
        openingBalance,
        ownerId: owner.id,
      })
      .expect(201);
    return res.body.id as string;
  };
  const send = (user: TestUser, body: Record<string, unknown>) =>
    app
      .http()
      .post(TRANSFERS)
      .set(bearer(user))
      .send({ amount: '10.00', date: '2026-03-01', ...body });
  const move = async (user: TestUser, body: Record<string, unknown>): Promise<TransferBody> => {
    const res = await send(user, body);
    if (res.status !== 201)
      throw new Error(`transfer failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as TransferBody;
  };
  const get = (user: TestUser, path: string) => app.http().get(path).set(bearer(user));
  const balanceOf = async (user: TestUser, id: string, asOf?: string) =>
    (await get(user, `${ACCOUNTS}/${id}/balance${asOf ? `?asOf=${asOf}` : ''}`).expect(200))
      .body as Record<string, string>;
  const del = (user: TestUser, id: string) =>
    app.http().delete(`${TRANSFERS}/${id}`).set(bearer(user));
  const restore = (user: TestUser, id: string) =>
    app.http().post(`${TRANSFERS}/${id}/restore`).set(bearer(user));

  describe('create', () => {
    it('moves money between two of your accounts in one currency: rate 1, toAmount = amount', async () => {
      const from = await open(analyst);
      const to = await open(analyst);
      const res = await send(analyst, {
        fromAccountId: from,
        toAccountId: to,
        amount: '10.5',
        notes: 'savings',
      }).expect(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        ownerId: analyst.id,
        fromAccountId: from,
        toAccountId: to,
        amount: '10.50',
        currency: 'USD',
        toAmount: '10.50',
        toCurrency: 'USD',
        rate: '1.0000000000',
        date: '2026-03-01',
        notes: 'savings',
        createdAt: expect.any(String),
      });
      expect(res.headers.location).toBe(`${TRANSFERS}/${res.body.id}`);
      expect((await get(analyst, res.headers.location).expect(200)).body).toEqual(res.body);
      // An equal toAmount is fine, whatever its written form.
      await send(analyst, {
        fromAccountId: from,
        toAccountId: to,
        amount: 5,
        toAmount: '5.0',
      }).expect(201);
    });

    it('refuses an unequal toAmount for one currency with 422 naming toAmount', async () => {
      const from = await open(analyst);
      const to = await open(analyst);
      expectProblem(
        await send(analyst, { fromAccountId: from, toAccountId: to, toAmount: '10.01' }),
        422,
        ['toAmount'],
      );
    });

    it('requires toAmount across currencies and rounds the rate half to even at 10 decimals', async () => {
      const jpy = await open(analyst, 'JPY');
      const usd = await open(analyst, 'USD');
      expectProblem(
        await send(analyst, { fromAccountId: usd, toAccountId: jpy, amount: '3.00' }),
        422,
        ['toAmount'],
      );
      const third = await move(analyst, {
        fromAccountId: usd,
        toAccountId: jpy,
        amount: '3.00',
        toAmount: '1000',
      });
      expect(third).toMatchObject({
        amount: '3.00',
        currency: 'USD',
        toAmount: '1000',
        toCurrency: 'JPY',
        rate: '333.3333333333',
      });
      // 1.00 / 2048 = 0.00048828125: a tie at the 11th decimal, rounded to the even 2.
      const even = await move(analyst, {
        fromAccountId: jpy,
        toAccountId: usd,
        amount: '2048',
        toAmount: '1.00',
      });
      expect(even.rate).toBe('0.0004882812');
      // 3.00 / 2048 = 0.00146484375: the tie rounds up to the even 8.
      const odd = await move(analyst, {
        fromAccountId: jpy,
        toAccountId: usd,
        amount: '2048',
        toAmount: '3',
      });
      expect(odd).toMatchObject({ toAmount: '3.00', rate: '0.0014648438' });
      const kwd = await open(analyst, 'KWD');
      const fils = await move(analyst, {
        fromAccountId: kwd,
        toAccountId: usd,
        amount: '0.001',
        toAmount: '0.01',
      });
      expect(fils).toMatchObject({ amount: '0.001', rate: '10.0000000000' });
    });

    it("refuses amounts with more decimals than their account's currency (400 naming the field)", async () => {
      const jpy = await open(analyst, 'JPY');
      const usd = await open(analyst, 'USD');
      expectProblem(
        await send(analyst, {
          fromAccountId: jpy,
          toAccountId: usd,
          amount: '100.5',
          toAmount: '1.00',
        }),
        400,
        ['amount'],
      );
      expectProblem(
        await send(analyst, {
          fromAccountId: usd,
          toAccountId: jpy,
          amount: '1.00',
          toAmount: '100.0',
        }),
        400,
        ['toAmount'],
      );
      expectProblem(
        await send(analyst, { fromAccountId: usd, toAccountId: jpy, amount: '0', toAmount: '1' }),
        400,
        ['amount'],
      );
    });

    it('refuses the same account twice, different owners, archived, unknown and other people’s accounts with 422', async () => {
      const a = await open(analyst);
      const b = await open(analyst);
      const theirs = await open(other);
      const archived = await open(analyst);
      await app
        .http()
        .patch(`${ACCOUNTS}/${archived}`)
        .set(bearer(analyst))
        .send({ archived: true })
        .expect(200);
      expectProblem(await send(analyst, { fromAccountId: a, toAccountId: a }), 422, [
        'toAccountId',
      ]);
      expectProblem(await send(analyst, { fromAccountId: a, toAccountId: a.toUpperCase() }), 422, [
        'toAccountId',
      ]);
      expectProblem(await send(admin, { fromAccountId: a, toAccountId: theirs }), 422, [
        'toAccountId',
      ]);
      expectProblem(await send(analyst, { fromAccountId: a, toAccountId: theirs }), 422, [
        'toAccountId',
      ]);
      expectProblem(await send(analyst, { fromAccountId: theirs, toAccountId: a }), 422, [
        'fromAccountId',
      ]);
      expectProblem(await send(analyst, { fromAccountId: archived, toAccountId: b }), 422, [
        'fromAccountId',
      ]);
      expectProblem(await send(analyst, { fromAccountId: a, toAccountId: archived }), 422, [
        'toAccountId',
      ]);
      expectProblem(await send(admin, { fromAccountId: randomUUID(), toAccountId: b }), 422, [
        'fromAccountId',
      ]);
      const count = await app.sql.query(
        `SELECT count(*)::int AS n FROM transfers WHERE from_account_id = $1`,
        [a],
      );
      expect(count.rows[0].n).toBe(0);
    });

    it('validates the body: 400 naming every bad field, unknown fields refused', async () => {
      const res = await send(analyst, {
        fromAccountId: 'nope',
        toAccountId: 42,
        amount: '-1',
        toAmount: null,
        date: '2026-02-30',
        notes: 'x'.repeat(1001),
      });
      expectProblem(res, 400, [
        'fromAccountId',
        'toAccountId',
        'amount',
        'toAmount',
        'date',
        'notes',
      ]);
      const a = await open(analyst);
      const b = await open(analyst);
      expectProblem(await send(analyst, { fromAccountId: a, toAccountId: b, rate: '2' }), 400);
    });

    it('lets an admin move money between any one owner’s accounts; viewers and auditors get 403', async () => {
      const a = await open(other);
      const b = await open(other);
      const t = await move(admin, { fromAccountId: a, toAccountId: b });
      expect(t.ownerId).toBe(other.id);
      for (const user of [viewer, auditor]) {
        expectProblem(await send(user, { fromAccountId: a, toAccountId: b }), 403);
      }
    });
  });

  describe('balances, delete and restore', () => {
    it('moves both legs together: out of one balance, into the other, and back on delete', async () => {
      const usd = await open(analyst, 'USD', '100.00');
      const eur = await open(analyst, 'EUR', '5.00');
      const t = await move(analyst, {
        fromAccountId: usd,
        toAccountId: eur,
        amount: '40.10',
        toAmount: '37.03',
        date: '2026-02-10',
      });
      expect(await balanceOf(analyst, usd)).toMatchObject({
        transfersOut: '40.10',
        transfersIn: '0.00',
        balance: '59.90',
      });
      expect(await balanceOf(analyst, eur)).toMatchObject({
        transfersIn: '37.03',
        balance: '42.03',
      });
      expect((await balanceOf(analyst, usd, '2026-02-09')).balance).toBe('100.00');
      expect((await get(analyst, `${ACCOUNTS}/${eur}`).expect(200)).body.balance).toBe('42.03');

      expectProblem(await del(analyst, t.id), 403);
      await del(admin, t.id).expect(204);
      expectProblem(await del(admin, t.id), 404);
      expectProblem(await get(analyst, `${TRANSFERS}/${t.id}`), 404);
      expectProblem(await get(admin, `${TRANSFERS}/${t.id}`), 404);
      expect((await balanceOf(analyst, usd)).balance).toBe('100.00');
      expect((await balanceOf(analyst, eur)).balance).toBe('5.00');
      const listed = (await get(analyst, `${TRANSFERS}?accountId=${usd}`).expect(200)).body
        .data as TransferBody[];
      expect(listed).toEqual([]);

      expectProblem(await restore(analyst, t.id), 403);
      const back = await restore(admin, t.id).expect(200);
      expect(back.body).toEqual(t);
      expectProblem(await restore(admin, t.id), 409);
      expectProblem(await restore(admin, randomUUID()), 404);
      expect((await balanceOf(analyst, usd)).balance).toBe('59.90');
      expect((await balanceOf(analyst, eur)).balance).toBe('42.03');
    });

    it('keeps a referenced account from deletion and currency change, deleted transfer or not', async () => {
      const a = await open(analyst);
      const b = await open(analyst);
      const t = await move(analyst, { fromAccountId: a, toAccountId: b });
      await del(admin, t.id).expect(204);
      for (const id of [a, b]) {
        expectProblem(await app.http().delete(`${ACCOUNTS}/${id}`).set(bearer(admin)), 409);
        expectProblem(
          await app
            .http()
            .patch(`${ACCOUNTS}/${id}`)
            .set(bearer(analyst))
            .send({ currency: 'EUR' }),
          409,
        );
      }
    });

    it('never shows transfers in the transaction list or the dashboard', async () => {
      const a = await open(other, 'USD', '10.00');
      const b = await open(other);
      const summary = async () => {
        const res = await get(other, '/api/v1/dashboard/summary').expect(200);
        const { totalIncome, totalExpenses, transactionCount } = res.body;
        return { totalIncome, totalExpenses, transactionCount };
      };
      const txCount = async () =>
        (await get(other, '/api/v1/transactions?limit=1').expect(200)).body.meta.total as number;
      const [before, countBefore] = [await summary(), await txCount()];
      await move(other, { fromAccountId: a, toAccountId: b, amount: '7.00' });
      expect(await summary()).toEqual(before);
      expect(await txCount()).toBe(countBefore);
    });
  });

  describe('reading', () => {
    let mine: TransferBody;
    let theirs: TransferBody;

    beforeAll(async () => {
      const [a, b, c, d] = await Promise.all([
        open(analyst),
        open(analyst),
        open(other),
        open(other),
      ]);
      mine = await move(analyst, {
        fromAccountId: a,
        toAccountId: b,
        date: '2025-06-01',
        notes: 'mine',
      });
      theirs = await move(other, {
        fromAccountId: c,
        toAccountId: d,
        date: '2025-06-02',
        notes: 'secret',
      });
    });

    it("answers someone else's transfer with 404 and lists only your own", async () => {
      expectProblem(await get(analyst, `${TRANSFERS}/${theirs.id}`), 404);
      expectProblem(await get(viewer, `${TRANSFERS}/${mine.id}`), 404);
      const rows = (await get(analyst, `${TRANSFERS}?limit=100`).expect(200)).body
        .data as TransferBody[];
      expect(rows.map((r) => r.id)).toContain(mine.id);
      expect(rows.every((r) => r.ownerId === analyst.id)).toBe(true);
      expect((await get(viewer, TRANSFERS).expect(200)).body.data).toEqual([]);
    });

    it('shows admins everything and auditors everything with other people’s notes masked', async () => {
      expect((await get(admin, `${TRANSFERS}/${theirs.id}`).expect(200)).body.notes).toBe('secret');
      expect((await get(auditor, `${TRANSFERS}/${theirs.id}`).expect(200)).body).toEqual({
        ...theirs,
        notes: '[masked]',
      });
      const all = (await get(auditor, `${TRANSFERS}?from=2025-06-01&to=2025-06-02`).expect(200))
        .body.data as TransferBody[];
      expect(all.map((r) => [r.id, r.notes])).toEqual([
        [theirs.id, '[masked]'],
        [mine.id, '[masked]'],
      ]);
    });

    it('filters by account (either leg) and date, newest first, and pages with a cursor', async () => {
      const byTo = (await get(analyst, `${TRANSFERS}?accountId=${mine.toAccountId}`).expect(200))
        .body.data as TransferBody[];
      expect(byTo.map((r) => r.id)).toEqual([mine.id]);
      const none = (await get(analyst, `${TRANSFERS}?from=2025-06-02&to=2025-06-30`).expect(200))
        .body.data as TransferBody[];
      expect(none.map((r) => r.id)).not.toContain(mine.id);
      expectProblem(await get(analyst, `${TRANSFERS}?from=2025-07-01&to=2025-06-01`), 400, [
        'from',
      ]);
      expectProblem(await get(analyst, `${TRANSFERS}?cursor=bad`), 400, ['cursor']);

      const all = (await get(admin, `${TRANSFERS}?limit=100`).expect(200)).body
        .data as TransferBody[];
      const dates = all.map((r) => r.date);
      expect([...dates].sort().reverse()).toEqual(dates);
      const seen: string[] = [];
      let cursor = '';
      for (let i = 0; i < 100; i++) {
        const res = await get(admin, `${TRANSFERS}?limit=3&cursor=${cursor}`).expect(200);
        seen.push(...(res.body.data as TransferBody[]).map((r) => r.id));
        if (res.body.meta.nextCursor === null) break;
        cursor = encodeURIComponent(res.body.meta.nextCursor as string);
      }
      expect(seen).toEqual(all.map((r) => r.id));
    });
  });

  describe('events and audit', () => {
    it('emits transfer.created/deleted/restored to the owner, admins and auditors (notes masked), no one else', async () => {
      const a = await open(other);
      const b = await open(other);
      const t = await move(other, { fromAccountId: a, toAccountId: b, notes: 'private note' });
      await del(admin, t.id).expect(204);
      await restore(admin, t.id).expect(200);
      const about = (user: TestUser, want: number): Promise<FeedEvent[]> =>
        readUntil(
          async () => {
            const res = await get(
              user,
              '/api/v1/events?limit=100&types=transfer.created,transfer.deleted,transfer.restored',
            ).expect(200);
            return (res.body.data as FeedEvent[]).filter((e) => e.data.id === t.id);
          },
          (found) => found.length >= want,
        );
      for (const reader of [other, admin]) {
        const events = await about(reader, 3);
        expect(events.map((e) => e.type)).toEqual([
          'transfer.created',
          'transfer.deleted',
          'transfer.restored',
        ]);
        expect(events[0].data).toMatchObject({ ...t, notes: 'private note' });
      }
      const audited = await about(auditor, 3);
      expect(audited.map((e) => e.data.notes)).toEqual(['[masked]', '[masked]', '[masked]']);
      expect(audited[0].data).toMatchObject({ id: t.id, ownerId: other.id, amount: '10.00' });
      expect(await about(analyst, 0)).toEqual([]);
    });

    it('writes transfer.create/delete/restore audit entries; auditors read their notes masked', async () => {
      const a = await open(analyst);
      const b = await open(analyst);
      const t = await move(analyst, { fromAccountId: a, toAccountId: b, notes: 'audit me' });
      await del(admin, t.id).expect(204);
      await restore(admin, t.id).expect(200);
      const entries = async (user: TestUser) =>
        (await get(user, `/api/v1/audit-logs?entityType=transfer&entityId=${t.id}`).expect(200))
          .body.data as {
          action: string;
          actorId: string;
          changes: Record<string, { before: unknown; after: unknown }>;
        }[];
      const seen = await entries(admin);
      expect(seen.map((e) => [e.action, e.actorId])).toEqual([
        ['transfer.restore', admin.id],
        ['transfer.delete', admin.id],
        ['transfer.create', analyst.id],
      ]);
      expect(seen[2].changes).toMatchObject({
        fromAccountId: { before: null, after: a },
        toAccountId: { before: null, after: b },
        amount: { before: null, after: '10.00' },
        rate: { before: null, after: '1.0000000000' },
        notes: { before: null, after: 'audit me' },
      });
      expect(seen[1].changes.deletedAt.before).toBeNull();
      expect((await entries(auditor))[2].changes.notes).toEqual({
        before: null,
        after: '[masked]',
      });
    });
  });
});

/** Webhooks deliver account and transfer events like any other, to an endpoint subscribed to them. */
describe('transfers and accounts over webhooks', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    app = await startApp({
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_DISPATCH_INTERVAL_MS: '50',
    });
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
  });
  afterAll(async () => {
    await app?.stop();
    await receiver.stop();
  });

  it('accepts the new event types in a subscription and delivers them, signed', async () => {
    const events = [
      'account.created',
      'account.updated',
      'transfer.created',
      'transfer.deleted',
      'transfer.restored',
    ];
    const hook = await app
      .http()
      .post('/api/v1/webhooks')
      .set(bearer(admin))
      .send({ url: `${receiver.url}/money`, events })
      .expect(201);
    receiver.secrets.set('/money', hook.body.secret as string);
    const open = async () =>
      (
        await app
          .http()
          .post(ACCOUNTS)
          .set(bearer(analyst))
          .send({ name: 'Hooked', type: 'savings', currency: 'USD' })
          .expect(201)
      ).body.id as string;
    const [a, b] = [await open(), await open()];
    await app
      .http()
      .patch(`${ACCOUNTS}/${b}`)
      .set(bearer(analyst))
      .send({ name: 'Renamed' })
      .expect(200);
    const t = await app
      .http()
      .post(TRANSFERS)
      .set(bearer(analyst))
      .send({ fromAccountId: a, toAccountId: b, amount: '3.00', date: '2026-03-01', notes: 'hook' })
      .expect(201);
    await app.http().delete(`${TRANSFERS}/${t.body.id}`).set(bearer(admin)).expect(204);
    await app.http().post(`${TRANSFERS}/${t.body.id}/restore`).set(bearer(admin)).expect(200);

    await receiver.waitFor(() => receiver.at('/money').length >= 6);
    const got = receiver.at('/money');
    expect(got.every((r) => r.verified)).toBe(true);
    expect(got.map((r) => r.body.type).sort()).toEqual(
      [
        'account.created',
        'account.created',
        'account.updated',
        'transfer.created',
        'transfer.deleted',
        'transfer.restored',
      ].sort(),
    );
    const created = got.find((r) => r.body.type === 'transfer.created');
    expect(created?.body.data).toMatchObject({ id: t.body.id, ownerId: analyst.id, notes: 'hook' });
  });
});
