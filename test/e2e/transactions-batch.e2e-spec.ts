import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createApiKey, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, ORG_SCOPE, rollupVersusLive, TX, type TxBody, validTx } from '../transactions';

jest.setTimeout(120_000);

const BATCH = `${TX}/batch`;

type Op = Record<string, unknown>;
const create = (data: Record<string, unknown> = {}): Op => ({ op: 'create', data: validTx(data) });
const update = (id: string, data: Record<string, unknown>, ifMatch?: string): Op => ({
  op: 'update',
  id,
  data,
  ...(ifMatch ? { ifMatch } : {}),
});
const del = (id: string): Op => ({ op: 'delete', id });
const restore = (id: string): Op => ({ op: 'restore', id });

interface Result {
  index: number;
  status: number;
  id?: string;
  etag?: string;
  problem?: { status: number; detail: string; errors?: { field: string }[] };
}

describe('POST /transactions/batch (docs/api.md section 15)', () => {
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
  afterAll(() => app?.stop());

  const batch = (user: { token: string }, body: unknown, headers: Record<string, string> = {}) =>
    app
      .http()
      .post(BATCH)
      .set(bearer(user))
      .set(headers)
      .send(body as object);

  /** What a failed batch must not have left: rows, audit entries, events, rollup rows. */
  const footprint = async () => {
    const { rows } = await app.sql.query(
      `SELECT (SELECT count(*) FROM transactions)::int AS tx,
              (SELECT count(*) FROM transactions WHERE deleted_at IS NOT NULL)::int AS deleted,
              (SELECT count(*) FROM audit_logs)::int AS audit,
              (SELECT count(*) FROM events)::int AS events,
              (SELECT coalesce(sum(total), 0)::text || '/' || coalesce(sum(count), 0)::text FROM rollup_daily) AS daily,
              (SELECT coalesce(sum(total), 0)::text || '/' || coalesce(sum(count), 0)::text FROM rollup_monthly) AS monthly,
              (SELECT string_agg(md5(t::text), ',' ORDER BY id) FROM transactions t) AS rows`,
    );
    return rows[0] as Record<string, unknown>;
  };

  describe('atomic (the default)', () => {
    it('applies every operation in order and answers each like its single route', async () => {
      const [a, b, c] = await Promise.all([
        createTx(app, analyst, { category: 'Batch A' }),
        createTx(app, analyst, { category: 'Batch B' }),
        createTx(app, analyst, { category: 'Batch C' }),
      ]);
      await app.http().delete(`${TX}/${c.id}`).set(bearer(admin)).expect(204);
      const res = await batch(admin, {
        operations: [
          create({ category: 'Batch new', ownerId: analyst.id }),
          update(a.id, { amount: '99.99' }),
          del(b.id),
          restore(c.id),
        ],
      }).expect(200);
      const results = res.body.results as Result[];
      expect(results.map((r) => [r.index, r.status])).toEqual([
        [0, 201],
        [1, 200],
        [2, 204],
        [3, 200],
      ]);
      const created = await app
        .http()
        .get(`${TX}/${results[0].id}`)
        .set(bearer(analyst))
        .expect(200);
      expect(created.body).toMatchObject({ category: 'Batch new', ownerId: analyst.id });
      expect(created.headers.etag).toBe(results[0].etag);
      const updated = await app.http().get(`${TX}/${a.id}`).set(bearer(analyst)).expect(200);
      expect(updated.body.amount).toBe('99.99');
      expect(updated.headers.etag).toBe(results[1].etag);
      expect(results[2].etag).toBeUndefined();
      await app.http().get(`${TX}/${b.id}`).set(bearer(analyst)).expect(404);
      await app.http().get(`${TX}/${c.id}`).set(bearer(analyst)).expect(200);
      // One audit entry and one event per operation, as the single routes write them.
      const audit = await app.sql.query(
        `SELECT action, entity_id::text AS id FROM audit_logs WHERE entity_id = ANY($1::uuid[]) AND action LIKE 'transaction.%' ORDER BY id`,
        [[results[0].id, a.id, b.id, c.id]],
      );
      const actions = audit.rows.map((r: { action: string; id: string }) => `${r.action} ${r.id}`);
      expect(actions).toEqual(
        expect.arrayContaining([
          `transaction.create ${results[0].id}`,
          `transaction.update ${a.id}`,
          `transaction.delete ${b.id}`,
          `transaction.restore ${c.id}`,
        ]),
      );
      const events = await app.sql.query(
        `SELECT type, count(*)::int AS n FROM events WHERE data->>'id' = ANY($1::text[]) GROUP BY type ORDER BY type`,
        [[results[0].id, a.id, b.id, c.id]],
      );
      expect(events.rows).toEqual([
        { type: 'transaction.created', n: 4 },
        { type: 'transaction.deleted', n: 2 },
        { type: 'transaction.restored', n: 1 },
        { type: 'transaction.updated', n: 1 },
      ]);
      for (const scope of [analyst.id, ORG_SCOPE]) {
        const { rollup, live } = await rollupVersusLive(app, scope);
        expect(rollup).toEqual(live);
      }
    });

    it('writes nothing when one operation fails: 422 naming it, with its single-route status', async () => {
      const row = await createTx(app, analyst);
      const before = await footprint();
      const missing = randomUUID();
      const res = await batch(admin, {
        operations: [create(), update(row.id, { category: 'Changed' }), del(missing), create()],
      });
      expectProblem(res, 422);
      expect(res.body.errors).toEqual([
        { index: 2, status: 404, message: 'Transaction not found' },
      ]);
      expect(await footprint()).toEqual(before);
    });

    it('lists every invalid operation with its field (400 each) and runs none', async () => {
      const row = await createTx(app, analyst);
      const before = await footprint();
      const res = await batch(admin, {
        operations: [
          create({ amount: '-1' }),
          create(),
          update(row.id, { date: 'yesterday' }),
          update(row.id, {}),
          create({ currency: 'JPY', amount: '10.5' }),
        ],
      });
      expectProblem(res, 422);
      const errors = res.body.errors as { index: number; status: number; field?: string }[];
      expect(errors.every((e) => e.status === 400)).toBe(true);
      expect([...new Set(errors.map((e) => e.index))]).toEqual([0, 2, 3, 4]);
      expect(errors.find((e) => e.index === 0)?.field).toBe('amount');
      expect(errors.find((e) => e.index === 2)?.field).toBe('date');
      expect(errors.find((e) => e.index === 4)?.field).toBe('amount');
      expect(await footprint()).toEqual(before);
    });

    it('a stale ifMatch is a 412 and a restore of a live row a 409, as on the single routes', async () => {
      const row = await createTx(app, analyst);
      const stale = await batch(admin, {
        operations: [update(row.id, { notes: 'x' }, '"not-the-etag"')],
      });
      expect(stale.body.errors).toEqual([
        { index: 0, status: 412, message: expect.stringContaining('If-Match') },
      ]);
      const live = await batch(admin, { operations: [restore(row.id)] });
      expect(live.body.errors).toEqual([
        { index: 0, status: 409, message: 'The transaction is not deleted' },
      ]);
      const current = await app.http().get(`${TX}/${row.id}`).set(bearer(admin)).expect(200);
      await batch(admin, {
        operations: [update(row.id, { notes: 'matched' }, current.headers.etag)],
      }).expect(200);
    });
  });

  describe('atomic: false', () => {
    it('commits the successes and answers every operation in input order', async () => {
      const row = await createTx(app, analyst);
      const missing = randomUUID();
      const res = await batch(admin, {
        atomic: false,
        operations: [
          create({ category: 'Partial ok' }),
          create({ amount: '1.234' }),
          del(missing),
          update(row.id, { category: 'Partial changed' }),
          create({ ownerId: randomUUID() }),
          del(row.id),
          restore(row.id),
        ],
      }).expect(200);
      const results = res.body.results as Result[];
      expect(results.map((r) => [r.index, r.status])).toEqual([
        [0, 201],
        [1, 400],
        [2, 404],
        [3, 200],
        [4, 422],
        [5, 204],
        [6, 200],
      ]);
      expect(results[1].problem).toMatchObject({ status: 400, errors: [{ field: 'amount' }] });
      expect(results[2]).toMatchObject({ id: missing, problem: { status: 404 } });
      expect(results[4].problem?.detail).toBe('ownerId must reference an active user');
      const kept = await app.http().get(`${TX}/${row.id}`).set(bearer(admin)).expect(200);
      expect(kept.body.category).toBe('Partial changed');
      await app.http().get(`${TX}/${results[0].id}`).set(bearer(admin)).expect(200);
      for (const scope of [admin.id, analyst.id, ORG_SCOPE]) {
        const { rollup, live } = await rollupVersusLive(app, scope);
        expect(rollup).toEqual(live);
      }
    });
  });

  describe('who may do what: each operation as its single route', () => {
    it('an analyst creates for themself, but their update, delete and restore are 403s', async () => {
      const own = await createTx(app, analyst);
      const res = await batch(analyst, {
        atomic: false,
        operations: [
          create(),
          update(own.id, { notes: 'no' }),
          del(own.id),
          restore(own.id),
          create({ ownerId: admin.id }),
        ],
      }).expect(200);
      expect((res.body.results as Result[]).map((r) => r.status)).toEqual([
        201, 403, 403, 403, 403,
      ]);
      const atomic = await batch(analyst, { operations: [create(), del(own.id)] });
      expectProblem(atomic, 422);
      expect(atomic.body.errors).toEqual([
        { index: 1, status: 403, message: 'Your role may not perform this action' },
      ]);
    });

    it('a viewer, an auditor and a key without transactions:write get 403 for the route', async () => {
      const auditor = await createUser(app, admin, 'auditor');
      expectProblem(await batch(viewer, { operations: [create()] }), 403);
      expectProblem(await batch(auditor, { operations: [create()] }), 403);
      const readKey = await createApiKey(app, admin, ['transactions:read']);
      expectProblem(await batch(readKey, { operations: [create()] }), 403);
    });

    it('an admin key with transactions:write may run every kind', async () => {
      const key = await createApiKey(app, admin, ['transactions:write']);
      const row = await createTx(app, analyst);
      const res = await batch(key, {
        operations: [create(), update(row.id, { notes: 'by key' }), del(row.id), restore(row.id)],
      }).expect(200);
      expect((res.body.results as Result[]).map((r) => r.status)).toEqual([201, 200, 204, 200]);
    });
  });

  describe('malformed requests: 400 (or 413) before anything runs', () => {
    const cases: [string, unknown, string][] = [
      ['no operations', { operations: [] }, 'operations'],
      ['operations not an array', { operations: 'create' }, 'operations'],
      ['an unknown op', { operations: [{ op: 'merge', id: randomUUID() }] }, 'operations.0.op'],
      ['an update without its id', { operations: [{ op: 'update', data: {} }] }, 'operations.0.id'],
      ['a create without data', { operations: [{ op: 'create' }] }, 'operations.0.data'],
      ['an unknown member', { operations: [{ ...create(), extra: 1 }] }, 'operations.0.extra'],
      ['an id on a create', { operations: [{ ...create(), id: randomUUID() }] }, 'operations.0.id'],
      ['an unknown top-level member', { operations: [create()], dryRun: true }, 'dryRun'],
      ['atomic not a boolean', { atomic: 'yes', operations: [create()] }, 'atomic'],
    ];
    it.each(cases)('%s', async (_name, body, field) => {
      const before = await footprint();
      expectProblem(await batch(admin, body), 400, [field]);
      expect(await footprint()).toEqual(before);
    });

    it('more than 500 operations is a 413; 500 are fine', async () => {
      const ops = (n: number) => Array.from({ length: n }, () => create({ category: 'Many' }));
      expectProblem(await batch(admin, { operations: ops(501) }), 413);
      const res = await batch(admin, { operations: ops(500) }).expect(200);
      expect(res.body.results).toHaveLength(500);
      const { rows } = await app.sql.query(
        `SELECT count(*)::int AS n FROM transactions WHERE category = 'Many'`,
      );
      expect(rows[0].n).toBe(500);
    });

    it('takes a body over 1 MiB (up to 8 MiB) on this route only', async () => {
      const notes = '€'.repeat(1000);
      const ops = Array.from({ length: 500 }, () => create({ category: 'Big', notes }));
      const body = { operations: ops };
      expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(1024 * 1024);
      await batch(admin, body).expect(200);
      const single = await app
        .http()
        .post(TX)
        .set(bearer(admin))
        .send(validTx({ notes: 'x'.repeat(1024 * 1024) }));
      expect(single.status).toBe(413);
      const huge: Response = await batch(admin, {
        operations: [create({ notes: 'x'.repeat(9 * 1024 * 1024) })],
      });
      expect(huge.status).toBe(413);
    });
  });

  describe('Idempotency-Key covers the whole request', () => {
    it('replays the first response and writes once; another body with the key is a 422', async () => {
      const key = { 'Idempotency-Key': `batch-${randomUUID()}` };
      const body = { operations: [create({ category: 'Idem' }), create({ category: 'Idem' })] };
      const first = await batch(admin, body, key).expect(200);
      const again = await batch(admin, body, key).expect(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      const { rows } = await app.sql.query(
        `SELECT count(*)::int AS n FROM transactions WHERE category = 'Idem'`,
      );
      expect(rows[0].n).toBe(2);
      expectProblem(await batch(admin, { operations: [create({ category: 'Other' })] }, key), 422);
    });

    it('a failed atomic batch frees its key: the corrected retry applies', async () => {
      const key = { 'Idempotency-Key': `batch-${randomUUID()}` };
      expectProblem(await batch(admin, { operations: [del(randomUUID())] }, key), 422);
      const row: TxBody = await createTx(app, analyst);
      await batch(admin, { operations: [del(row.id)] }, key).expect(200);
    });
  });
});
