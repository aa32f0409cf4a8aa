import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, deactivate, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { marker, transactionCreator, tx } from '../reliability-helpers';

/**
 * The audit trail: every write records who did what, when, from where and with which request id,
 * with the values before and after and never a password; only an admin reads it, through filters
 * and a signed cursor, and nobody can change it, not even in the database.
 */

describe('reliability', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, viewer] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'viewer'),
    ]);
  });
  afterAll(() => app.stop());

  const create = transactionCreator(() => app);

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
        // The base currency, which an omitted currency defaults to (no account given).
        currency: { before: null, after: 'USD' },
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
});
