import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, deactivate, loginAdmin, type TestUser } from '../factories';
import { expectNoLeak, expectProblem } from '../problems';

/**
 * Reliability under retries, races and failures: Idempotency-Key, ETag/If-Match, the audit
 * trail, a few hundred parallel writes, losing the database connections, and SIGTERM with a
 * request in flight.
 */

const marker = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}`;

const tx = (over: Record<string, unknown> = {}) => ({
  type: 'expense',
  amount: '10.00',
  category: 'Food',
  date: '2026-03-01',
  ...over,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

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

  const rowsWithNotes = async (notes: string) =>
    Number(
      (await app.sql.query('SELECT count(*) AS n FROM transactions WHERE notes = $1', [notes]))
        .rows[0].n,
    );

  const create = (user: TestUser, key: string | undefined, body: object) => {
    const req = app.http().post('/api/v1/transactions').set(bearer(user));
    if (key !== undefined) req.set('Idempotency-Key', key);
    return req.send(body);
  };

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

  describe('audit trail', () => {
    interface Entry {
      id: string;
      at: string;
      actorId: string | null;
      action: string;
      entityType: string;
      entityId: string | null;
      changes: Record<string, unknown>;
      requestId: string | null;
      ip: string | null;
    }

    const audit = (query: string) =>
      app.http().get(`/api/v1/audit-logs?${query}`).set(bearer(admin));

    /** The single entry written by the request that answered `res`. */
    const entryOf = async (res: Response, action: string): Promise<Entry> => {
      const requestId = res.headers['x-request-id'];
      const list = await audit(`action=${action}&limit=100`).expect(200);
      const found = (list.body.data as Entry[]).filter((e) => e.requestId === requestId);
      expect(found).toHaveLength(1);
      return found[0];
    };

    const secrets: string[] = [];

    it('records user.create with actor, entity, request id and the new values, never the password', async () => {
      const password = `pw-${randomBytes(8).toString('hex')}`;
      secrets.push(password);
      const email = `${marker('audited')}@test.local`;
      const res = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .send({ name: 'Audited', email, password, role: 'viewer' })
        .expect(201);
      const entry = await entryOf(res, 'user.create');
      expect(entry).toMatchObject({
        actorId: admin.id,
        entityType: 'user',
        entityId: res.body.id,
        requestId: res.headers['x-request-id'],
      });
      expect(entry.changes).toEqual({
        name: { before: null, after: 'Audited' },
        email: { before: null, after: email },
        role: { before: null, after: 'viewer' },
        isActive: { before: null, after: true },
      });
      expect(JSON.stringify(entry)).not.toContain(password);
      expect(JSON.stringify(entry)).not.toContain('$2b$');
    });

    it('records user.update with only the changed fields', async () => {
      const user = await createUser(app, admin, 'viewer', { name: 'Before Name' });
      const res = await app
        .http()
        .patch(`/api/v1/users/${user.id}`)
        .set(bearer(admin))
        .send({ name: 'After Name', role: 'viewer' })
        .expect(200);
      const entry = await entryOf(res, 'user.update');
      expect(entry).toMatchObject({ actorId: admin.id, entityType: 'user', entityId: user.id });
      expect(entry.changes).toEqual({ name: { before: 'Before Name', after: 'After Name' } });
    });

    it('records an admin’s password change as a change without the password or its hash', async () => {
      const user = await createUser(app, admin, 'viewer');
      const password = `new-${randomBytes(8).toString('hex')}`;
      secrets.push(password, user.password);
      const res = await app
        .http()
        .patch(`/api/v1/users/${user.id}`)
        .set(bearer(admin))
        .send({ password })
        .expect(200);
      const entry = await entryOf(res, 'user.update');
      expect(Object.keys(entry.changes)).toEqual(['password']);
      const text = JSON.stringify(entry);
      expect(text).not.toContain(password);
      expect(text).not.toContain(user.password);
      expect(text).not.toContain('$2b$');
    });

    it('records a user’s own password change as user.update by that user, without either password', async () => {
      const user = await createUser(app, admin, 'analyst');
      const newPassword = `own-${randomBytes(8).toString('hex')}`;
      secrets.push(newPassword, user.password);
      const res = await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(user))
        .send({ currentPassword: user.password, newPassword })
        .expect(204);
      const entry = await entryOf(res, 'user.update');
      expect(entry).toMatchObject({ actorId: user.id, entityId: user.id });
      const text = JSON.stringify(entry);
      expect(text).not.toContain(newPassword);
      expect(text).not.toContain(user.password);
      expect(text).not.toContain('$2b$');
    });

    it('records every field of a create as stored, amounts printed as the database prints them', async () => {
      const created = await create(
        analyst,
        undefined,
        tx({ amount: '007.5', category: '  Coffee ', notes: 'flat white' }),
      ).expect(201);
      expect(created.body).toMatchObject({ amount: '7.50', category: 'Coffee' });
      const onCreate = await entryOf(created, 'transaction.create');
      expect(onCreate.changes).toEqual({
        ownerId: { before: null, after: analyst.id },
        type: { before: null, after: 'expense' },
        amount: { before: null, after: '7.50' },
        category: { before: null, after: 'Coffee' },
        date: { before: null, after: '2026-03-01' },
        notes: { before: null, after: 'flat white' },
      });
    });

    it('records an owner id sent in upper case as it is stored, in lower case', async () => {
      const created = await create(
        admin,
        undefined,
        tx({ ownerId: analyst.id.toUpperCase() }),
      ).expect(201);
      expect(created.body.ownerId).toBe(analyst.id);
      const onCreate = await entryOf(created, 'transaction.create');
      expect(onCreate.changes).toMatchObject({ ownerId: { before: null, after: analyst.id } });
    });

    it('writes neither a row nor an entry when the create is refused', async () => {
      const count = async () =>
        (
          await app.sql.query<{ n: number }>(
            `SELECT (SELECT count(*) FROM audit_logs WHERE action = 'transaction.create')
                  + (SELECT count(*) FROM transactions) AS n`,
          )
        ).rows[0].n;
      const before = await count();
      const gone = await createUser(app, admin, 'viewer');
      await deactivate(app, admin, gone);
      const res = await create(admin, undefined, tx({ ownerId: gone.id }));
      expect(res.status).toBe(422);
      expect(await count()).toBe(before);
    });

    it('records transaction.create, update, delete and restore with before/after of what changed', async () => {
      const created = await create(analyst, undefined, tx({ notes: 'audited row' })).expect(201);
      const id = created.body.id as string;
      const onCreate = await entryOf(created, 'transaction.create');
      expect(onCreate).toMatchObject({
        actorId: analyst.id,
        entityType: 'transaction',
        entityId: id,
        requestId: created.headers['x-request-id'],
      });
      expect(onCreate.changes).toMatchObject({
        amount: { before: null, after: '10.00' },
        type: { before: null, after: 'expense' },
        ownerId: { before: null, after: analyst.id },
      });

      const updated = await app
        .http()
        .patch(`/api/v1/transactions/${id}`)
        .set(bearer(admin))
        .send({ amount: '10.50', category: 'Food' })
        .expect(200);
      const onUpdate = await entryOf(updated, 'transaction.update');
      expect(onUpdate).toMatchObject({ actorId: admin.id, entityId: id });
      expect(onUpdate.changes).toEqual({ amount: { before: '10.00', after: '10.50' } });

      const deleted = await app
        .http()
        .delete(`/api/v1/transactions/${id}`)
        .set(bearer(admin))
        .expect(204);
      const onDelete = await entryOf(deleted, 'transaction.delete');
      expect(onDelete).toMatchObject({
        actorId: admin.id,
        entityType: 'transaction',
        entityId: id,
      });
      expect(Object.keys(onDelete.changes)).toEqual(['deletedAt']);

      const restored = await app
        .http()
        .post(`/api/v1/transactions/${id}/restore`)
        .set(bearer(admin))
        .expect(200);
      const onRestore = await entryOf(restored, 'transaction.restore');
      expect(onRestore).toMatchObject({ actorId: admin.id, entityId: id });
      expect(onRestore.changes).toMatchObject({ deletedAt: { after: null } });
    });

    it('records transaction.import with its counts and request id', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions/import')
        .set(bearer(analyst))
        .set('Content-Type', 'text/csv')
        .send(
          'date,type,amount,category\n2026-03-03,income,5.00,Salary\n2026-03-04,expense,1.00,Food\n',
        )
        .expect(201);
      const entry = await entryOf(res, 'transaction.import');
      expect(entry).toMatchObject({ actorId: analyst.id, entityType: 'transaction' });
      expect(entry.changes).toMatchObject({ imported: 2, skipped: 0 });
    });

    it('records auth.login_failed for a wrong password without the password tried', async () => {
      const tried = `wrong-${randomBytes(6).toString('hex')}`;
      secrets.push(tried);
      const res = await app
        .http()
        .post('/api/v1/auth/login')
        .send({ email: viewer.email, password: tried });
      expectProblem(res, 401);
      const entry = await entryOf(res, 'auth.login_failed');
      expect(entry).toMatchObject({ actorId: null, entityType: 'user', entityId: viewer.id });
      expect(JSON.stringify(entry)).not.toContain(tried);
    });

    it('records the real client address, not a spoofed X-Forwarded-For (TRUST_PROXY unset)', async () => {
      const res = await app
        .http()
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', '203.0.113.7')
        .send({ email: viewer.email, password: 'not-the-password' });
      expectProblem(res, 401);
      const entry = await entryOf(res, 'auth.login_failed');
      expect(entry.ip).not.toContain('203.0.113.7');
      expect(entry.ip).toMatch(/127\.0\.0\.1$/);
    });

    it('holds no password or bcrypt hash anywhere in the stored trail', async () => {
      const { rows } = await app.sql.query<{ j: string }>(
        "SELECT coalesce(json_agg(a), '[]')::text AS j FROM audit_logs a",
      );
      expect(secrets.length).toBeGreaterThan(0);
      for (const secret of secrets) expect(rows[0].j).not.toContain(secret);
      expect(rows[0].j).not.toContain('$2b$');
    });

    it.each([
      ['an analyst', () => bearer(analyst), 403],
      ['a viewer', () => bearer(viewer), 403],
      ['an anonymous caller', () => ({}), 401],
    ] as const)('refuses GET /audit-logs to %s', async (_who, auth, status) => {
      expectProblem(await app.http().get('/api/v1/audit-logs').set(auth()), status);
    });

    it.each([
      ['actorId', (): string => analyst.id, (e: Entry): boolean => e.actorId === analyst.id],
      [
        'entityType',
        (): string => 'transaction',
        (e: Entry): boolean => e.entityType === 'transaction',
      ],
      ['entityId', (): string => viewer.id, (e: Entry): boolean => e.entityId === viewer.id],
      [
        'action',
        (): string => 'transaction.update',
        (e: Entry): boolean => e.action === 'transaction.update',
      ],
    ] as const)('filters by %s', async (param, value, matches) => {
      const res = await audit(`${param}=${value()}&limit=100`).expect(200);
      const data = res.body.data as Entry[];
      expect(data.length).toBeGreaterThan(0);
      expect(data.every(matches)).toBe(true);
      const { rows } = await app.sql.query('SELECT count(*)::int AS n FROM audit_logs');
      expect(data.length).toBeLessThan(rows[0].n);
    });

    it('filters by from and to (inclusive UTC days)', async () => {
      const [newest] = (await audit('limit=1').expect(200)).body.data as Entry[];
      const day = newest.at.slice(0, 10);
      const shift = (d: string, n: number) =>
        new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
      const onDay = (await audit(`from=${day}&to=${day}&limit=100`).expect(200)).body.data;
      expect((onDay as Entry[]).map((e) => e.id)).toContain(newest.id);
      expect((await audit(`from=${shift(day, 1)}`).expect(200)).body.data).toEqual([]);
      expect((await audit(`to=${shift(day, -1)}`).expect(200)).body.data).toEqual([]);
      expectProblem(await audit(`from=${day}&to=${shift(day, -1)}`), 400);
    });

    it('pages with the cursor newest first, without duplicates or gaps', async () => {
      const seen: Entry[] = [];
      let cursor = '';
      for (let page = 0; page < 200; page++) {
        const res = await audit(`limit=7&cursor=${encodeURIComponent(cursor)}`).expect(200);
        seen.push(...(res.body.data as Entry[]));
        if (res.body.meta.nextCursor === null) break;
        cursor = res.body.meta.nextCursor;
      }
      const { rows } = await app.sql.query('SELECT id FROM audit_logs ORDER BY at DESC, id DESC');
      expect(seen.map((e) => e.id)).toEqual(rows.map((r: { id: string }) => r.id));
      expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    });

    it.each([
      [
        'a re-signed body',
        (c: string) =>
          `${Buffer.from(JSON.stringify({ at: '2000-01-01 00:00:00+00', id: '00000000-0000-0000-0000-000000000000' })).toString('base64url')}.${c.split('.')[1]}`,
      ],
      ['a truncated signature', (c: string) => c.slice(0, -3)],
      ['garbage', () => 'not-a-cursor'],
      ['a cursor of the transactions list', () => 'TX_CURSOR'],
    ])('answers a forged cursor (%s) with 400', async (_name, forge) => {
      const real = (await audit('limit=1').expect(200)).body.meta.nextCursor as string;
      let forged = forge(real);
      if (forged === 'TX_CURSOR') {
        const list = await app
          .http()
          .get('/api/v1/transactions?cursor=&limit=1')
          .set(bearer(admin))
          .expect(200);
        forged = list.body.meta.nextCursor;
      }
      expectProblem(await audit(`cursor=${encodeURIComponent(forged)}`), 400);
    });

    it.each([
      ['put', '/api/v1/audit-logs'],
      ['patch', '/api/v1/audit-logs'],
      ['delete', '/api/v1/audit-logs'],
      ['post', '/api/v1/audit-logs'],
      ['get', '/api/v1/audit-logs/ENTRY'],
      ['put', '/api/v1/audit-logs/ENTRY'],
      ['patch', '/api/v1/audit-logs/ENTRY'],
      ['delete', '/api/v1/audit-logs/ENTRY'],
    ] as const)(
      'has no %s %s route for an admin (404), and the entry stays',
      async (method, path) => {
        const [entry] = (await audit('limit=1').expect(200)).body.data as Entry[];
        const res = await app
          .http()
          [method](path.replace('ENTRY', entry.id))
          .set(bearer(admin))
          .send({ action: 'user.create', changes: {} });
        expectProblem(res, 404);
        const { rows } = await app.sql.query(
          'SELECT action, changes FROM audit_logs WHERE id = $1',
          [entry.id],
        );
        expect(rows[0]).toEqual({ action: entry.action, changes: entry.changes });
      },
    );

    it.each([
      ['UPDATE', "UPDATE audit_logs SET action = 'user.create'"],
      ['DELETE', 'DELETE FROM audit_logs'],
      ['TRUNCATE', 'TRUNCATE audit_logs'],
    ])('refuses %s on audit_logs in the database itself', async (_name, statement) => {
      const { rows: before } = await app.sql.query('SELECT count(*)::int AS n FROM audit_logs');
      await expect(app.sql.query(statement)).rejects.toThrow(/append-only/);
      const { rows: after } = await app.sql.query('SELECT count(*)::int AS n FROM audit_logs');
      expect(after[0].n).toBe(before[0].n);
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
      const expected = {
        totalIncome: money(income),
        totalExpenses: money(expenses),
        netBalance: money(income - expenses),
        transactionCount: 300,
      };
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

  describe('losing the database connections', () => {
    it('recovers by itself after every connection of the pool is terminated', async () => {
      const { rows } = await app.sql.query(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      expect(rows[0].n).toBeGreaterThan(0);
      // The first requests may fail on a dead connection; none may leak a stack trace or SQL.
      const seen: Response[] = [];
      await waitFor('readiness and a normal read', async () => {
        const ready = await app.http().get('/health/ready');
        const read = await app.http().get('/api/v1/transactions?limit=1').set(bearer(analyst));
        seen.push(ready, read);
        return ready.status === 200 && read.status === 200;
      });
      seen.forEach(expectNoLeak);
      await create(analyst, undefined, tx({ notes: 'after reconnect' })).expect(201);
    });

    it('reports 503 on readiness while the database refuses connections, and 200 once it accepts them', async () => {
      const dbName = new URL(app.databaseUrl).pathname.slice(1);
      const server = new Client({ connectionString: process.env.TEST_PG_SERVER_URL });
      await server.connect();
      try {
        await server.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS false`);
        await server.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`,
          [dbName],
        );
        const seen: Response[] = [];
        await waitFor('readiness to report 503', async () => {
          const res = await app.http().get('/health/ready');
          seen.push(res);
          return res.status === 503;
        });
        seen.forEach(expectNoLeak);
        const read = await app.http().get('/api/v1/transactions?limit=1').set(bearer(analyst));
        expect(read.status).toBeGreaterThanOrEqual(500);
        expectNoLeak(read);
      } finally {
        await server.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS true`);
        await server.end();
      }
      await waitFor(
        'readiness to recover',
        async () => (await app.http().get('/health/ready')).status === 200,
      );
      await app.http().get('/api/v1/transactions?limit=1').set(bearer(analyst)).expect(200);
    });
  });
});

describe('graceful shutdown', () => {
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    app = await startApp();
    token = (await loginAdmin(app)).token;
  });
  afterAll(() => app.stop());

  it('finishes the import in flight on SIGTERM, stops taking requests and exits with code 0', async () => {
    const { port } = new URL(app.url);
    const exited = new Promise<number | null>((resolve) => app.child.once('exit', resolve));
    const rows = (from: number, n: number) =>
      Array.from(
        { length: n },
        (_, i) => `2026-04-01,expense,1.${String((from + i) % 100).padStart(2, '0')},Shutdown\n`,
      ).join('');

    let response = '';
    let status = 0;
    // The app spools uploads in the OS temp directory, which it shares with this process.
    const spoolFiles = () => readdirSync(tmpdir()).filter((f) => f.startsWith('finance-import-'));
    const before = new Set(spoolFiles());
    const done = new Promise<void>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: Number(port),
        method: 'POST',
        path: '/api/v1/transactions/import',
        agent: false,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'text/csv',
          'Transfer-Encoding': 'chunked',
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        status = res.statusCode ?? 0;
        res.on('data', (c: Buffer) => (response += c.toString()));
        res.on('end', resolve);
      });
      req.write(`date,type,amount,category\n${rows(0, 1000)}`);
      void (async () => {
        // The import is spooling the rows it has read: the request is in flight for certain.
        await waitFor('the import to spool rows', async () =>
          Promise.resolve(
            spoolFiles().some((f) => !before.has(f) && statSync(join(tmpdir(), f)).size > 0),
          ),
        );
        app.child.kill('SIGTERM');
        // Readiness goes down (503) or the port closes while the import is still open.
        await waitFor('readiness to go down', async () => {
          try {
            const res = await fetch(`${app.url}/health/ready`, {
              signal: AbortSignal.timeout(2000),
            });
            return res.status === 503;
          } catch {
            return true;
          }
        });
        req.end(rows(1000, 2000));
      })().catch(reject);
    });

    await done;
    expect(status).toBe(201);
    expect(JSON.parse(response)).toEqual({ imported: 3000, skipped: 0, errors: [] });
    expect(await exited).toBe(0);
    const { rows: stored } = await app.sql.query(
      "SELECT count(*)::int AS n FROM transactions WHERE category = 'Shutdown'",
    );
    expect(stored[0].n).toBe(3000);
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve('accepted');
        });
        socket.once('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
