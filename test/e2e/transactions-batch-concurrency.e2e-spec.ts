import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import {
  type BatchResult,
  cents,
  create,
  dashboardRecount,
  del,
  described,
  footprint,
  interleave,
  type Op,
  pick,
  postBatch,
  restore,
  rollupsVersusRecount,
  seeded,
  shuffled,
  sortCategories,
  statusCounts,
  update,
} from '../batch-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { listTotal, ORG_SCOPE, TX, validTx } from '../transactions';

/**
 * POST /transactions/batch under concurrency (docs/api.md section 15, issue 26): concurrent
 * batches over the same rows serialise without a deadlock and leave the exact final state;
 * batches mixed with single writes keep the rollups, the dashboards and the list totals equal to
 * a recount from the transactions table; a late failure in an atomic batch leaves nothing
 * behind; an Idempotency-Key sent several times at once applies once. Basic behaviour is in
 * transactions-batch.e2e-spec.ts, permissions per operation in
 * transactions-batch-permissions.e2e-spec.ts.
 */

jest.setTimeout(120_000);

const CATEGORIES = ['Food', 'Rent', 'Travel', 'Salary'] as const;
/** Three months, both sides of two month ends. */
const DATES = ['2026-01-09', '2026-01-31', '2026-02-01', '2026-02-17', '2026-03-01', '2026-03-14'];
const CURRENCIES = ['USD', 'EUR'] as const;
/** The EUR→USD rate set on every date above: an integer, so every conversion is exact. */
const EUR_IN_USD = 2n;
/** Printed on failure, so a run's random choices can be replayed. */
const SEED = Number(process.env.BATCH_TEST_SEED ?? Date.now() % 1_000_000);

const SUCCESS = [200, 201, 204];

describe(`POST /transactions/batch under concurrency (seed ${SEED})`, () => {
  let app: TestApp;
  let admin: TestUser;
  let analysts: TestUser[];
  let owners: TestUser[];

  beforeAll(async () => {
    // A batch waiting for its turn on the rows holds a pooled connection: the long pool timeout
    // keeps the documented overload 503 out of these tests, so any 503 here means something else.
    app = await startApp({ DB_POOL_TIMEOUT_MS: '60000' });
    admin = await loginAdmin(app);
    analysts = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
    ]);
    owners = [admin, ...analysts];
    for (const date of DATES)
      await app
        .http()
        .put(`/api/v1/exchange-rates/EUR/USD/${date}`)
        .set(bearer(admin))
        .send({ rate: String(EUR_IN_USD) })
        .expect(201);
  });
  afterAll(() => app?.stop());

  const sqlRows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    (await app.sql.query(sql, params)).rows as T[];

  /** Audit entries and events about transactions, by kind. */
  const trail = async () => {
    const [audit, events] = await Promise.all([
      sqlRows<{ k: string; n: number }>(
        `SELECT action AS k, count(*)::int AS n FROM audit_logs WHERE action LIKE 'transaction.%' GROUP BY 1`,
      ),
      sqlRows<{ k: string; n: number }>(
        `SELECT type AS k, count(*)::int AS n FROM events WHERE type LIKE 'transaction.%' GROUP BY 1`,
      ),
    ]);
    const total = (rows: { n: number }[]) => rows.reduce((s, r) => s + r.n, 0);
    return {
      audit: Object.fromEntries(audit.map((r) => [r.k, r.n])) as Record<string, number>,
      events: Object.fromEntries(events.map((r) => [r.k, r.n])) as Record<string, number>,
      auditTotal: total(audit),
      eventTotal: total(events),
    };
  };

  const expectRollupsExact = async (scopes: string[]) => {
    for (const scope of scopes) {
      const { rollup, recount } = await rollupsVersusRecount(app, scope);
      expect({ scope, ...(rollup as object) }).toEqual({ scope, ...(recount as object) });
    }
  };

  describe('20 atomic batches at once over the same 50 rows', () => {
    it('all answer 200, run one after another (no deadlock) and leave the last writer’s values', async () => {
      const rng = seeded(SEED);
      const seed = await postBatch(app, admin, {
        operations: Array.from({ length: 50 }, (_, r) =>
          create({
            ownerId: owners[r % 3].id,
            category: 'Seed',
            date: DATES[r % DATES.length],
            currency: CURRENCIES[r % 2],
            amount: `${r + 1}.00`,
          }),
        ),
      });
      expect(seed.status).toBe(200);
      const ids = (seed.body.results as BatchResult[]).map((r) => r.id!);

      /** What batch i writes into row r: every rollup key component moves between batches. */
      const planned = (i: number, r: number) => ({
        type: (i + r) % 2 === 0 ? 'income' : 'expense',
        amount: `${1 + ((i * 53 + r * 7) % 400)}.${String((i * 7 + r * 3) % 100).padStart(2, '0')}`,
        category: CATEGORIES[(i + r) % CATEGORIES.length],
        date: DATES[(i * 5 + r) % DATES.length],
        currency: (i + r) % 3 === 0 ? 'EUR' : 'USD',
        notes: `batch ${i}`,
      });
      const BATCHES = 20;
      // Per batch, 5 of the rows are also deleted and restored (before or after their update);
      // every row's own operations keep their order, the rows' operations are interleaved at random.
      const batches = Array.from({ length: BATCHES }, (_, i) => {
        const perRow = shuffled(
          rng,
          ids.map((id, r) => {
            const u = { op: update(id, planned(i, r)), status: 200 };
            if ((r + i) % 10 !== 0) return [u];
            const cycle = [
              { op: del(id), status: 204 },
              { op: restore(id), status: 200 },
            ];
            return i % 2 === 0 ? [u, ...cycle] : [...cycle, u];
          }),
        );
        return interleave(rng, perRow);
      });
      const opsPerBatch = 50 + 5 * 2;
      expect(batches.every((b) => b.length === opsPerBatch)).toBe(true);

      const before = await trail();
      const [{ seq: startSeq }] = await sqlRows<{ seq: string }>(
        `SELECT coalesce(max(seq), 0)::text AS seq FROM events`,
      );
      const responses = await Promise.all(
        batches.map((ops) => postBatch(app, admin, { operations: ops.map((o) => o.op) })),
      );
      expect(statusCounts(responses)).toEqual({ 200: BATCHES });
      responses.forEach((res, i) => {
        const results = res.body.results as BatchResult[];
        expect(results.map((r) => [r.index, r.status, r.id])).toEqual(
          batches[i].map((o, index) => [index, o.status, o.op.id]),
        );
      });
      expect(app.logs()).not.toMatch(/deadlock/i);

      // The final state: one batch committed last, and every row holds exactly its values.
      const rows = await sqlRows<Record<string, unknown>>(
        `SELECT id::text AS id, type::text AS type, amount::text AS amount, category,
           date::text AS date, currency::text AS currency, notes, deleted_at IS NULL AS live
         FROM transactions WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      const last = Number(/^batch (\d+)$/.exec(String(byId.get(ids[0])!.notes))![1]);
      expect(ids.map((id) => byId.get(id))).toEqual(
        ids.map((id, r) => ({ id, ...planned(last, r), live: true })),
      );

      // The batches ran one after another: each one's events form one unbroken run (one
      // database transaction each), and every row saw the writers in the same order, ending
      // with the one whose values it holds.
      const events = await sqlRows<{ tx: string; type: string; id: string; notes: string }>(
        `SELECT tx::text AS tx, type, data->>'id' AS id, data->>'notes' AS notes FROM events
         WHERE seq > $1 AND type LIKE 'transaction.%' ORDER BY seq`,
        [startSeq],
      );
      expect(events).toHaveLength(BATCHES * opsPerBatch);
      const runs: { tx: string; n: number }[] = [];
      for (const e of events) {
        if (runs.at(-1)?.tx === e.tx) runs.at(-1)!.n++;
        else runs.push({ tx: e.tx, n: 1 });
      }
      expect(runs.map((r) => r.n)).toEqual(Array(BATCHES).fill(opsPerBatch));
      const writers = new Map<string, string[]>(ids.map((id) => [id, []]));
      for (const e of events)
        if (e.type === 'transaction.updated') writers.get(e.id)!.push(e.notes);
      const order = writers.get(ids[0])!;
      expect(new Set(order).size).toBe(BATCHES);
      expect(order.at(-1)).toBe(`batch ${last}`);
      for (const id of ids) expect({ id, order: writers.get(id) }).toEqual({ id, order });

      // One audit entry and one event per operation, no more, no fewer.
      const after = await trail();
      const delta = (a: Record<string, number>, b: Record<string, number>, k: string) =>
        (a[k] ?? 0) - (b[k] ?? 0);
      expect({
        update: delta(after.audit, before.audit, 'transaction.update'),
        delete: delta(after.audit, before.audit, 'transaction.delete'),
        restore: delta(after.audit, before.audit, 'transaction.restore'),
        all: after.auditTotal - before.auditTotal,
      }).toEqual({ update: 1000, delete: 100, restore: 100, all: 1200 });
      expect({
        updated: delta(after.events, before.events, 'transaction.updated'),
        deleted: delta(after.events, before.events, 'transaction.deleted'),
        restored: delta(after.events, before.events, 'transaction.restored'),
        all: after.eventTotal - before.eventTotal,
      }).toEqual({ updated: 1000, deleted: 100, restored: 100, all: 1200 });

      await expectRollupsExact([...owners.map((o) => o.id), ORG_SCOPE]);
    });
  });

  describe('batches mixed with single requests under load', () => {
    it('keeps the dashboards, the rollups and the list totals equal to a recount; no 5xx', async () => {
      const [a, b] = await Promise.all([
        createUser(app, admin, 'analyst'),
        createUser(app, admin, 'analyst'),
      ]);
      const loadOwners = [admin, a, b];
      const rng = seeded(SEED + 1);
      const data = (r: () => number): Record<string, unknown> => ({
        type: pick(r, ['income', 'expense']),
        amount: `${1 + Math.floor(r() * 900)}.${String(Math.floor(r() * 100)).padStart(2, '0')}`,
        category: pick(r, CATEGORIES),
        date: pick(r, DATES),
        currency: pick(r, CURRENCIES),
        notes: r() < 0.5 ? 'load' : null,
      });
      /** A non-empty random subset of a row's fields, as a PATCH or an update sends it. */
      const fields = (r: () => number): Record<string, unknown> => {
        const all = data(r);
        const keys = shuffled(r, Object.keys(all)).slice(0, 1 + Math.floor(r() * 4));
        return Object.fromEntries(keys.map((k) => [k, all[k]]));
      };
      const seedRes = await postBatch(app, admin, {
        operations: Array.from({ length: 60 }, () =>
          create({ ...data(rng), ownerId: pick(rng, loadOwners).id }),
        ),
      });
      expect(seedRes.status).toBe(200);
      const pool = (seedRes.body.results as BatchResult[]).map((r) => r.id!);

      const before = await trail();
      let succeeded = 0;
      const seen: Record<string, Record<number, number>> = {};
      const unexpected: string[] = [];
      /** Records a response; anything outside `allowed` is collected (and fails the test). */
      const check = (label: string, res: Response, allowed: number[]): boolean => {
        seen[label] = seen[label] ?? {};
        seen[label][res.status] = (seen[label][res.status] ?? 0) + 1;
        if (allowed.includes(res.status)) return true;
        unexpected.push(described(label, res));
        return false;
      };
      const randomId = (r: () => number) => pick(r, pool);

      /** A per-item batch: random operations on the pool plus failures it is made to contain. */
      const perItemBatch = async (r: () => number) => {
        const n = 4 + Math.floor(r() * 10);
        const ops: { op: Op; allowed: number[] }[] = [];
        for (let i = 0; i < n; i++) {
          const kind = r();
          if (kind < 0.3)
            ops.push({
              op: create({ ...data(r), ownerId: pick(r, loadOwners).id }),
              allowed: [201],
            });
          else if (kind < 0.55)
            ops.push({ op: update(randomId(r), fields(r)), allowed: [200, 404] });
          else if (kind < 0.7) ops.push({ op: del(randomId(r)), allowed: [204, 404] });
          else if (kind < 0.85) ops.push({ op: restore(randomId(r)), allowed: [200, 409] });
          else
            ops.push(
              pick(r, [
                { op: update(randomUUID(), { notes: 'missing' }), allowed: [404] },
                { op: del(randomUUID()), allowed: [404] },
                { op: create({ amount: '-1' }), allowed: [400] },
                { op: create({ currency: 'EUR', amount: '1.001' }), allowed: [400] },
                { op: create({ ownerId: randomUUID() }), allowed: [422] },
                { op: update(randomId(r), { date: 'never' }), allowed: [400] },
              ]),
            );
        }
        const res = await postBatch(app, admin, {
          atomic: false,
          operations: ops.map((o) => o.op),
        });
        if (!check('batch atomic:false', res, [200])) return;
        const results = res.body.results as BatchResult[];
        if (results.map((x) => x.index).join() !== ops.map((_, i) => i).join()) {
          unexpected.push(described('batch atomic:false: results out of line', res));
          return;
        }
        results.forEach((x, i) => {
          if (!ops[i].allowed.includes(x.status))
            unexpected.push(`atomic:false op ${JSON.stringify(ops[i].op)} → ${JSON.stringify(x)}`);
          if (x.status >= 400 && x.problem?.status !== x.status)
            unexpected.push(`atomic:false op ${i}: problem ${JSON.stringify(x.problem)}`);
          if (SUCCESS.includes(x.status)) succeeded++;
          if (x.status === 201) pool.push(x.id!);
        });
      };

      /** An all-or-nothing batch of valid operations that may meet a row in the wrong state. */
      const atomicBatch = async (r: () => number) => {
        const n = 2 + Math.floor(r() * 7);
        const ops: Op[] = Array.from({ length: n }, () => {
          const kind = r();
          if (kind < 0.35) return create({ ...data(r), ownerId: pick(r, loadOwners).id });
          if (kind < 0.7) return update(randomId(r), fields(r));
          if (kind < 0.85) return del(randomId(r));
          return restore(randomId(r));
        });
        const res = await postBatch(app, admin, { operations: ops });
        if (!check('batch atomic', res, [200, 422])) return;
        if (res.status === 422) {
          const errors = res.body.errors as { status: number }[];
          if (errors.length !== 1 || ![404, 409].includes(errors[0].status))
            unexpected.push(described('batch atomic: 422 errors', res));
          return;
        }
        const results = res.body.results as BatchResult[];
        if (results.length !== n || results.some((x) => !SUCCESS.includes(x.status)))
          unexpected.push(described('batch atomic: results', res));
        succeeded += results.length;
        for (const x of results) if (x.status === 201) pool.push(x.id!);
      };

      /** An analyst's per-item batch: its creates apply, its other operations are 403s. */
      const analystBatch = async (r: () => number) => {
        const analyst = pick(r, [a, b]);
        const ops = [
          ...Array.from({ length: 1 + Math.floor(r() * 4) }, () => create(data(r))),
          update(randomId(r), fields(r)),
          del(randomId(r)),
          restore(randomId(r)),
        ];
        const res = await postBatch(app, analyst, { atomic: false, operations: ops });
        if (!check('analyst batch', res, [200])) return;
        const statuses = (res.body.results as BatchResult[]).map((x) => x.status);
        const expected = ops.map((o) => (o.op === 'create' ? 201 : 403));
        if (statuses.join() !== expected.join())
          unexpected.push(described('analyst batch statuses', res));
        for (const x of res.body.results as BatchResult[])
          if (x.status === 201) {
            succeeded++;
            pool.push(x.id!);
          }
      };

      const single = async (r: () => number) => {
        const kind = r();
        if (kind < 0.3) {
          const own = r() < 0.5;
          const caller = own ? pick(r, [a, b]) : admin;
          const body = own ? data(r) : { ...data(r), ownerId: pick(r, loadOwners).id };
          const res = await app.http().post(TX).set(bearer(caller)).send(validTx(body));
          if (check('POST', res, [201])) {
            succeeded++;
            pool.push(res.body.id as string);
          }
        } else if (kind < 0.6) {
          const res = await app
            .http()
            .patch(`${TX}/${randomId(r)}`)
            .set(bearer(admin))
            .send(fields(r));
          if (check('PATCH', res, [200, 404]) && res.status === 200) succeeded++;
        } else if (kind < 0.8) {
          const res = await app
            .http()
            .delete(`${TX}/${randomId(r)}`)
            .set(bearer(admin));
          if (check('DELETE', res, [204, 404]) && res.status === 204) succeeded++;
        } else {
          const res = await app
            .http()
            .post(`${TX}/${randomId(r)}/restore`)
            .set(bearer(admin));
          if (check('restore', res, [200, 409]) && res.status === 200) succeeded++;
        }
      };

      const WORKERS = 8;
      const deadline = Date.now() + 10_000;
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, w) => {
          const r = seeded(SEED + 100 + w);
          while (Date.now() < deadline) {
            const kind = r();
            if (kind < 0.45) await single(r);
            else if (kind < 0.7) await perItemBatch(r);
            else if (kind < 0.9) await atomicBatch(r);
            else await analystBatch(r);
          }
        }),
      );
      // The first few, shortened: enough to see what went wrong.
      expect({ unexpected: unexpected.length, first: unexpected.slice(0, 5) }).toEqual({
        unexpected: 0,
        first: [],
      });
      // The load did what it is for: every kind ran, and writes of each kind applied.
      for (const label of ['POST', 'PATCH', 'DELETE', 'restore', 'batch atomic:false'])
        expect({ label, seen: Object.keys(seen[label] ?? {}).length > 0 }).toEqual({
          label,
          seen: true,
        });
      expect(seen['batch atomic']?.[200]).toBeGreaterThan(0);
      expect(app.logs()).not.toMatch(/deadlock/i);

      // One audit entry and one event per successful operation, whatever route it came by.
      const after = await trail();
      expect({
        audit: after.auditTotal - before.auditTotal,
        events: after.eventTotal - before.eventTotal,
      }).toEqual({ audit: succeeded, events: succeeded });

      await expectRollupsExact([...loadOwners.map((o) => o.id), ORG_SCOPE]);

      // The dashboards (read from the rollups) equal a recount of the live rows, converted.
      const views: { label: string; caller: TestUser; scope: string; query: object }[] = [
        { label: 'organisation', caller: admin, scope: ORG_SCOPE, query: {} },
        ...loadOwners.map((o) => ({
          label: `admin, userId=${o.id}`,
          caller: admin,
          scope: o.id,
          query: { userId: o.id },
        })),
        ...[a, b].map((o) => ({ label: `analyst ${o.id}`, caller: o, scope: o.id, query: {} })),
      ];
      for (const view of views) {
        const expected = await dashboardRecount(app, view.scope, 'USD', { EUR: EUR_IN_USD });
        const [summary, categories] = await Promise.all(
          ['summary', 'categories'].map((path) =>
            app.http().get(`/api/v1/dashboard/${path}`).set(bearer(view.caller)).query(view.query),
          ),
        );
        expect([view.label, summary.status, categories.status]).toEqual([view.label, 200, 200]);
        expect({ view: view.label, summary: summary.body }).toEqual({
          view: view.label,
          summary: expected.summary,
        });
        const body = categories.body as { category: string; type: string; total: string }[];
        expect({ view: view.label, categories: sortCategories(body) }).toEqual({
          view: view.label,
          categories: expected.categories,
        });
        // Largest total first.
        const totals = body.map((c) => cents(c.total));
        expect(totals).toEqual([...totals].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
      }

      // The list's page-mode totals, from the rollups or an exact (cached) count, equal a count.
      const counts: [TestUser, string, string, unknown[]][] = [
        [admin, '', 'deleted_at IS NULL', []],
        [
          admin,
          'q=ood',
          `deleted_at IS NULL AND (category ILIKE '%ood%' OR notes ILIKE '%ood%')`,
          [],
        ],
        [
          admin,
          'q=load',
          `deleted_at IS NULL AND (category ILIKE '%load%' OR notes ILIKE '%load%')`,
          [],
        ],
        [admin, 'minAmount=450', 'deleted_at IS NULL AND amount >= 450', []],
        [admin, 'deleted=only', 'deleted_at IS NOT NULL', []],
        [admin, 'deleted=include', 'true', []],
        [
          admin,
          'currency=EUR&type=income',
          `deleted_at IS NULL AND currency = 'EUR' AND type = 'income'`,
          [],
        ],
        [
          admin,
          'category=rent&from=2026-02-01&to=2026-03-01',
          `deleted_at IS NULL AND lower(category) = 'rent' AND date BETWEEN '2026-02-01' AND '2026-03-01'`,
          [],
        ],
        [admin, `ownerId=${a.id}`, 'deleted_at IS NULL AND owner_id = $1', [a.id]],
        [a, '', 'deleted_at IS NULL AND owner_id = $1', [a.id]],
        [
          b,
          'q=travel',
          `deleted_at IS NULL AND owner_id = $1 AND (category ILIKE '%travel%' OR notes ILIKE '%travel%')`,
          [b.id],
        ],
      ];
      for (const [caller, query, where, params] of counts) {
        const [{ n }] = await sqlRows<{ n: number }>(
          `SELECT count(*)::int AS n FROM transactions WHERE ${where}`,
          params,
        );
        expect({ query, total: await listTotal(app, caller, query) }).toEqual({ query, total: n });
      }
    });
  });

  describe('an atomic batch whose last operation fails', () => {
    it('leaves nothing behind after 499 valid creates and updates; the same batch without it applies', async () => {
      const [analyst] = analysts;
      const seedRes = await postBatch(app, admin, {
        operations: Array.from({ length: 199 }, (_, i) =>
          create({
            ownerId: owners[i % 3].id,
            category: 'Late seed',
            amount: `${i + 1}.25`,
            date: DATES[i % DATES.length],
          }),
        ),
      });
      expect(seedRes.status).toBe(200);
      const seedIds = (seedRes.body.results as BatchResult[]).map((r) => r.id!);
      const valid: Op[] = [
        ...Array.from({ length: 300 }, (_, i) =>
          create({
            ownerId: owners[i % 3].id,
            type: i % 2 ? 'income' : 'expense',
            category: `Late ${i % 7}`,
            amount: `${(i % 50) + 1}.75`,
            date: DATES[(i + 3) % DATES.length],
            currency: CURRENCIES[i % 2],
            notes: 'late failure',
          }),
        ),
        ...seedIds.map((id, i) =>
          update(id, {
            type: 'income',
            category: `Late moved ${i % 5}`,
            date: DATES[(i + 1) % DATES.length],
            amount: '999.99',
            currency: CURRENCIES[(i + 1) % 2],
            notes: 'late failure',
          }),
        ),
      ];
      expect(valid).toHaveLength(499);
      const failing: [string, Op, number][] = [
        ['a missing row', del(randomUUID()), 404],
        ['a stale ifMatch', update(seedIds[0], { notes: 'stale' }, '"stale-etag"'), 412],
        ['a restore of a live row', restore(seedIds[1]), 409],
      ];
      // Page-mode totals: from the rollups (no search) and exact counts (search, amounts, deleted).
      const queries = [
        '',
        'q=late',
        'category=Late%20moved%200',
        'minAmount=999',
        'deleted=include',
        'currency=EUR',
        `ownerId=${analyst.id}`,
      ];
      const totals = () =>
        Promise.all([
          ...queries.map((q) => listTotal(app, admin, q)),
          listTotal(app, analyst, 'q=late'),
        ]);
      // Counted once before, so a cached exact count is what the later reads must keep right.
      const totalsBefore = await totals();
      const before = await footprint(app);
      for (const [label, last, status] of failing) {
        const res = await postBatch(app, admin, { operations: [...valid, last] });
        expectProblem(res, 422);
        expect({ label, errors: res.body.errors }).toEqual({
          label,
          errors: [{ index: 499, status, message: expect.any(String) }],
        });
        expect({ label, footprint: await footprint(app) }).toEqual({ label, footprint: before });
        expect({ label, totals: await totals() }).toEqual({ label, totals: totalsBefore });
      }
      await expectRollupsExact([...owners.map((o) => o.id), ORG_SCOPE]);

      // The control: the same 499 operations do write, so the checks above could have failed.
      const applied = await postBatch(app, admin, { operations: valid });
      expect(applied.status).toBe(200);
      expect((applied.body.results as BatchResult[]).map((r) => r.status)).toEqual([
        ...Array(300).fill(201),
        ...Array(199).fill(200),
      ]);
      const footprintAfter = await footprint(app);
      expect(footprintAfter.tx).toBe((before.tx as number) + 300);
      expect(footprintAfter.audit).toBe((before.audit as number) + 499);
      expect(footprintAfter.events).toBe((before.events as number) + 499);
      expect(footprintAfter.daily).not.toEqual(before.daily);
      expect(footprintAfter.monthly).not.toEqual(before.monthly);
      const totalsAfter = await totals();
      // 300 more rows; `q=late` matched the 199 seed rows already and now the creates too.
      expect(totalsAfter[0]).toBe(totalsBefore[0] + 300);
      expect(totalsAfter[1]).toBe(totalsBefore[1] + 300);
      await expectRollupsExact([...owners.map((o) => o.id), ORG_SCOPE]);
    });
  });

  describe('Idempotency-Key sent several times at once', () => {
    it('applies once; every other answer is a 409 (in flight) or the same body replayed', async () => {
      const [analyst] = analysts;
      const rows = await postBatch(app, admin, {
        operations: [create({ ownerId: analyst.id }), create()],
      });
      expect(rows.status).toBe(200);
      const [row, toDelete] = (rows.body.results as BatchResult[]).map((r) => r.id!);
      const category = `Idem ${randomUUID().slice(0, 8)}`;
      const body = {
        operations: [
          ...Array.from({ length: 200 }, (_, i) =>
            create({ category, amount: `${i + 1}.00`, ownerId: owners[i % 3].id }),
          ),
          update(row, { notes: category }),
          del(toDelete),
        ],
      };
      const key = { 'Idempotency-Key': `batch-concurrent-${randomUUID()}` };
      const before = await trail();
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => postBatch(app, admin, body, key)),
      );
      const firsts = responses.filter(
        (r) => r.status === 200 && r.headers['idempotent-replayed'] !== 'true',
      );
      const statuses = statusCounts(responses);
      expect({ firsts: firsts.length, statuses }).toEqual({ firsts: 1, statuses });
      const [first] = firsts;
      expect(first.body.results).toHaveLength(202);
      for (const res of responses) {
        if (res === first) continue;
        if (res.status === 409) expectProblem(res, 409);
        else {
          expect(res.status).toBe(200);
          expect(res.headers['idempotent-replayed']).toBe('true');
          expect(res.body).toEqual(first.body);
        }
      }
      // Once the first has finished, the key replays it.
      const later = await postBatch(app, admin, body, key);
      expect(later.status).toBe(200);
      expect(later.headers['idempotent-replayed']).toBe('true');
      expect(later.body).toEqual(first.body);

      const [{ n }] = await sqlRows<{ n: number }>(
        `SELECT count(*)::int AS n FROM transactions WHERE category = $1`,
        [category],
      );
      expect(n).toBe(200);
      const after = await trail();
      expect({
        audit: after.auditTotal - before.auditTotal,
        events: after.eventTotal - before.eventTotal,
      }).toEqual({ audit: 202, events: 202 });
      await expectRollupsExact([...owners.map((o) => o.id), ORG_SCOPE]);
    });
  });
});
