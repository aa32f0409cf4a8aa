import { startApp, type TestApp } from '../app';
import { usdSummary } from '../dashboard-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { marker, transactionCreator, tx } from '../reliability-helpers';

/**
 * Reliability of writes under retries and races: Idempotency-Key on creates and imports,
 * ETag/If-Match on transactions and users, and a few hundred parallel creates whose totals must
 * come out exact.
 */

/** Integer cents as the API's decimal string (`-12.30`). */
const money = (cents: number) => {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
};

describe('reliability', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, other, viewer] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'viewer'),
    ]);
  });
  afterAll(() => app.stop());

  const create = transactionCreator(() => app);

  const rowsWithNotes = async (notes: string) =>
    Number(
      (await app.sql.query('SELECT count(*) AS n FROM transactions WHERE notes = $1', [notes]))
        .rows[0].n,
    );

  describe('Idempotency-Key', () => {
    it('replays the first response for the same key and body, writing one row', async () => {
      const key = marker('key');
      const notes = marker('replay');
      const first = await create(analyst, key, tx({ notes })).expect(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const second = await create(analyst, key, tx({ notes })).expect(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.body).toEqual(first.body);
      expect(second.headers.location).toBe(first.headers.location);
      expect(await rowsWithNotes(notes)).toBe(1);
    });

    it('answers the same key with another body with 422, writing nothing more', async () => {
      const key = marker('key');
      const notes = marker('mismatch');
      const first = await create(analyst, key, tx({ notes })).expect(201);
      const res = await create(analyst, key, tx({ notes, amount: '99.99' }));
      expectProblem(res, 422);
      expect(await rowsWithNotes(notes)).toBe(1);
      const stored = await app.sql.query('SELECT amount::text FROM transactions WHERE id = $1', [
        first.body.id,
      ]);
      expect(stored.rows[0].amount).toBe('10.00');
    });

    it('keeps keys per user: another user with the same key and body gets its own row', async () => {
      const key = marker('shared-key');
      const notes = marker('per-user');
      const mine = await create(analyst, key, tx({ notes })).expect(201);
      const theirs = await create(other, key, tx({ notes })).expect(201);
      expect(theirs.headers['idempotent-replayed']).toBeUndefined();
      expect(theirs.body.id).not.toBe(mine.body.id);
      expect(theirs.body.ownerId).toBe(other.id);
      expect(await rowsWithNotes(notes)).toBe(2);
    });

    it.each([
      ['empty', ''],
      ['256 characters long', 'k'.repeat(256)],
      ['holding a tab', 'a\tb'],
      ['holding a non-ASCII character', 'cl\u00e9'],
    ])('answers a key that is %s with 400, writing nothing', async (_name, key) => {
      const notes = marker('bad-key');
      const res = await create(analyst, key, tx({ notes }));
      expectProblem(res, 400);
      expect(await rowsWithNotes(notes)).toBe(0);
    });

    it('accepts a key of 255 printable characters (control)', async () => {
      await create(analyst, `~${'k'.repeat(253)}!`, tx({ notes: marker('long-key') })).expect(201);
    });

    it('frees the key of a request that failed validation, so a corrected retry goes through', async () => {
      const key = marker('key');
      const notes = marker('retry');
      expectProblem(await create(analyst, key, tx({ notes, amount: 'ten' })), 400);
      await create(analyst, key, tx({ notes })).expect(201);
      expect(await rowsWithNotes(notes)).toBe(1);
    });

    it('creates exactly one row for parallel requests with one fresh key; the rest replay or get 409', async () => {
      const key = marker('race');
      const notes = marker('race');
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => create(analyst, key, tx({ notes }))),
      );
      for (const res of responses) {
        expect([201, 409]).toContain(res.status);
        if (res.status === 409) expectProblem(res, 409);
      }
      const originals = responses.filter(
        (r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined,
      );
      expect(originals).toHaveLength(1);
      for (const replay of responses.filter((r) => r.headers['idempotent-replayed'] === 'true'))
        expect(replay.body.id).toBe(originals[0].body.id);
      expect(await rowsWithNotes(notes)).toBe(1);
    });

    describe('on imports', () => {
      const csv = (category: string, rows: number) =>
        `date,type,amount,category\n${'2026-03-02,expense,2.50,CAT\n'.replaceAll('CAT', category).repeat(rows)}`;
      const importCsv = (key: string, body: string) =>
        app
          .http()
          .post('/api/v1/transactions/import')
          .set(bearer(analyst))
          .set('Idempotency-Key', key)
          .set('Content-Type', 'text/csv')
          .send(body);
      const withCategory = async (category: string) =>
        Number(
          (
            await app.sql.query('SELECT count(*) AS n FROM transactions WHERE category = $1', [
              category,
            ])
          ).rows[0].n,
        );

      it('imports once when the same file is sent twice with one key, replaying the result', async () => {
        const key = marker('import');
        const category = marker('Imp');
        const first = await importCsv(key, csv(category, 3)).expect(201);
        expect(first.body).toEqual({ imported: 3, skipped: 0, errors: [] });
        const second = await importCsv(key, csv(category, 3)).expect(201);
        expect(second.headers['idempotent-replayed']).toBe('true');
        expect(second.body).toEqual(first.body);
        expect(await withCategory(category)).toBe(3);
      });

      it('answers another file with the same key with 422, importing nothing more', async () => {
        const key = marker('import');
        const category = marker('Imp');
        await importCsv(key, csv(category, 2)).expect(201);
        expectProblem(await importCsv(key, csv(category, 5)), 422);
        expect(await withCategory(category)).toBe(2);
      });
    });
  });

  describe('ETag and If-Match', () => {
    const newTx = async () =>
      (await create(analyst, undefined, tx({ notes: marker('etag') })).expect(201)).body
        .id as string;
    const getTx = (id: string) =>
      app.http().get(`/api/v1/transactions/${id}`).set(bearer(admin)).expect(200);
    const patchTx = (id: string, body: object, ifMatch?: string) => {
      const req = app.http().patch(`/api/v1/transactions/${id}`).set(bearer(admin));
      if (ifMatch !== undefined) req.set('If-Match', ifMatch);
      return req.send(body);
    };
    const storedTx = async (id: string) =>
      (await app.sql.query('SELECT * FROM transactions WHERE id = $1', [id])).rows[0];

    it('gives a strong ETag on GET that changes with the resource', async () => {
      const id = await newTx();
      const before = await getTx(id);
      expect(before.headers.etag).toMatch(/^"[^"]+"$/);
      expect((await getTx(id)).headers.etag).toBe(before.headers.etag);
      const patched = await patchTx(id, { amount: '11.00' }).expect(200);
      expect(patched.headers.etag).not.toBe(before.headers.etag);
      expect((await getTx(id)).headers.etag).toBe(patched.headers.etag);
    });

    it('answers a PATCH with a stale If-Match with 412 and changes nothing', async () => {
      const id = await newTx();
      const stale = (await getTx(id)).headers.etag;
      await patchTx(id, { amount: '12.00' }, stale).expect(200);
      const before = await storedTx(id);
      expectProblem(await patchTx(id, { amount: '13.00' }, stale), 412);
      expect(await storedTx(id)).toEqual(before);
    });

    it('applies a PATCH with the current If-Match and answers with the new ETag', async () => {
      const id = await newTx();
      const current = (await getTx(id)).headers.etag;
      const res = await patchTx(id, { category: 'Groceries' }, current).expect(200);
      expect(res.body.category).toBe('Groceries');
      expect(res.headers.etag).not.toBe(current);
    });

    it('applies a PATCH without If-Match', async () => {
      const id = await newTx();
      await patchTx(id, { notes: 'no precondition' }).expect(200);
    });

    it('lets exactly one of five concurrent PATCHes with the same If-Match win; the others get 412', async () => {
      const id = await newTx();
      const tag = (await getTx(id)).headers.etag;
      const amounts = ['21.00', '22.00', '23.00', '24.00', '25.00'];
      const results = await Promise.all(amounts.map((amount) => patchTx(id, { amount }, tag)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 412, 412, 412, 412]);
      const winner = results.find((r) => r.status === 200)!;
      expect((await storedTx(id)).amount).toBe(winner.body.amount);
    });

    describe('on users', () => {
      const getUser = (id: string) =>
        app.http().get(`/api/v1/users/${id}`).set(bearer(admin)).expect(200);
      const patchUser = (id: string, body: object, ifMatch?: string) => {
        const req = app.http().patch(`/api/v1/users/${id}`).set(bearer(admin));
        if (ifMatch !== undefined) req.set('If-Match', ifMatch);
        return req.send(body);
      };
      const storedUser = async (id: string) =>
        (await app.sql.query('SELECT * FROM users WHERE id = $1', [id])).rows[0];

      it('gives an ETag on GET /users/:id, also to the user itself', async () => {
        const res = await getUser(viewer.id);
        expect(res.headers.etag).toMatch(/^"[^"]+"$/);
        const own = await app.http().get(`/api/v1/users/${viewer.id}`).set(bearer(viewer));
        expect(own.headers.etag).toBe(res.headers.etag);
      });

      it('answers a PATCH with a stale If-Match with 412 and changes nothing', async () => {
        const user = await createUser(app, admin, 'viewer');
        const stale = (await getUser(user.id)).headers.etag;
        await patchUser(user.id, { name: 'First rename' }, stale).expect(200);
        const before = await storedUser(user.id);
        expectProblem(await patchUser(user.id, { role: 'analyst' }, stale), 412);
        expect(await storedUser(user.id)).toEqual(before);
      });

      it('applies a PATCH with the current If-Match and answers with the new ETag', async () => {
        const user = await createUser(app, admin, 'viewer');
        const current = (await getUser(user.id)).headers.etag;
        const res = await patchUser(user.id, { name: 'Renamed' }, current).expect(200);
        expect(res.headers.etag).not.toBe(current);
        expect((await getUser(user.id)).headers.etag).toBe(res.headers.etag);
      });

      it('lets exactly one of two concurrent PATCHes with the same If-Match win', async () => {
        const user = await createUser(app, admin, 'viewer');
        const tag = (await getUser(user.id)).headers.etag;
        const results = await Promise.all([
          patchUser(user.id, { name: 'Writer A' }, tag),
          patchUser(user.id, { name: 'Writer B' }, tag),
        ]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
        const winner = results.find((r) => r.status === 200)!;
        expect((await storedUser(user.id)).name).toBe(winner.body.name);
      });
    });
  });

  describe('concurrency', () => {
    it('keeps count and dashboard totals exact after 300 parallel creates for one user', async () => {
      const user = await createUser(app, admin, 'analyst');
      const bodies = Array.from({ length: 300 }, (_, i) => {
        const cents = ((i * 7919) % 99_999) + 1;
        return {
          cents,
          income: i % 3 === 0,
          body: tx({
            type: i % 3 === 0 ? 'income' : 'expense',
            amount: money(cents),
            category: `C${i % 7}`,
            date: `2026-0${(i % 9) + 1}-1${i % 10}`,
          }),
        };
      });
      for (let wave = 0; wave < bodies.length; wave += 50) {
        const results = await Promise.all(
          bodies.slice(wave, wave + 50).map((b) => create(user, undefined, b.body)),
        );
        for (const res of results) expect(res.status).toBe(201);
      }
      const income = bodies.filter((b) => b.income).reduce((s, b) => s + b.cents, 0);
      const expenses = bodies.filter((b) => !b.income).reduce((s, b) => s + b.cents, 0);

      const { rows } = await app.sql.query(
        'SELECT count(*)::int AS n FROM transactions WHERE owner_id = $1',
        [user.id],
      );
      expect(rows[0].n).toBe(300);
      const expected = usdSummary(money(income), money(expenses), money(income - expenses), 300);
      const own = await app.http().get('/api/v1/dashboard/summary').set(bearer(user)).expect(200);
      expect(own.body).toEqual(expected);
      const asAdmin = await app
        .http()
        .get(`/api/v1/dashboard/summary?userId=${user.id}`)
        .set(bearer(admin))
        .expect(200);
      expect(asAdmin.body).toEqual(expected);
    });
  });
});
