import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import {
  type BatchResult,
  create,
  del,
  footprint,
  type Op,
  postBatch,
  restore,
  update,
} from '../batch-helpers';
import { createApiKey, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { TX, validTx } from '../transactions';

/**
 * Who may do what in POST /transactions/batch (docs/api.md section 15, issue 26): every role and
 * API key scope against the route, and, where the route admits the caller, every operation kind
 * (and its usual failures) against its single route. The expected status is never written here:
 * it is what the single route answers the same caller for a twin row, so the test follows the
 * routes' rules wherever they go. A per-item batch answers each operation as the single route
 * did (status, detail, field names, resulting row); an atomic batch of that one operation applies
 * it or answers 422 naming that same status.
 */

jest.setTimeout(120_000);

interface Caller {
  label: string;
  token: string;
  /** Whether the route admits it: an admin or an analyst, through a key only with transactions:write. */
  admitted: boolean;
}

/** One operation kind in one situation, as a batch operation and as its single route's request. */
interface Case {
  label: string;
  /** The row it works on: none (a create or an unknown id), a live row or a deleted one. */
  row: 'none' | 'live' | 'deleted' | 'other-live';
  op: (id: string) => Op;
  single: (app: TestApp, token: string, id: string) => Promise<Response>;
}

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('POST /transactions/batch: every caller, every operation kind, as its single route', () => {
  let app: TestApp;
  let admin: TestUser;
  /** The analyst the rows belong to (its own rows), and another user. */
  let analyst: TestUser;
  let other: TestUser;
  const callers: Caller[] = [];

  const createBody = (overrides: Record<string, unknown>) =>
    validTx({ category: 'Perm create', notes: 'perm', ...overrides });
  const createCase = (label: string, overrides: () => Record<string, unknown>): Case => ({
    label,
    row: 'none',
    op: () => create(createBody(overrides())),
    single: (on, token) => on.http().post(TX).set(auth(token)).send(createBody(overrides())),
  });
  const updateCase = (
    label: string,
    row: Case['row'],
    data: Record<string, unknown>,
    ifMatch?: string,
  ): Case => ({
    label,
    row,
    op: (id) => update(id, data, ifMatch),
    single: (on, token, id) => {
      const req = on.http().patch(`${TX}/${id}`).set(auth(token));
      return (ifMatch ? req.set('If-Match', ifMatch) : req).send(data);
    },
  });
  const deleteCase = (label: string, row: Case['row']): Case => ({
    label,
    row,
    op: (id) => del(id),
    single: (on, token, id) => on.http().delete(`${TX}/${id}`).set(auth(token)),
  });
  const restoreCase = (label: string, row: Case['row']): Case => ({
    label,
    row,
    op: (id) => restore(id),
    single: (on, token, id) => on.http().post(`${TX}/${id}/restore`).set(auth(token)),
  });

  const cases = (): Case[] => [
    createCase('create', () => ({})),
    createCase('create for another owner', () => ({ ownerId: other.id })),
    createCase('create for the owner of the rows', () => ({ ownerId: analyst.id })),
    createCase('create for an unknown owner', () => ({ ownerId: randomUUID() })),
    createCase('create with an invalid amount', () => ({ amount: '-1' })),
    createCase('create with an unknown member', () => ({ colour: 'red' })),
    updateCase('update', 'live', { category: 'Perm updated', amount: '7.25', type: 'income' }),
    updateCase('update another user’s row', 'other-live', { notes: 'perm other' }),
    updateCase('update with an invalid date', 'live', { date: 'yesterday' }),
    updateCase('update with a stale If-Match', 'live', { notes: 'stale' }, '"stale-etag"'),
    updateCase('update a deleted row', 'deleted', { notes: 'deleted' }),
    updateCase('update an unknown row', 'none', { notes: 'missing' }),
    deleteCase('delete', 'live'),
    deleteCase('delete another user’s row', 'other-live'),
    deleteCase('delete a deleted row', 'deleted'),
    deleteCase('delete an unknown row', 'none'),
    restoreCase('restore', 'deleted'),
    restoreCase('restore a live row', 'live'),
    restoreCase('restore an unknown row', 'none'),
  ];

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    const [viewer, auditor] = await Promise.all([
      createUser(app, admin, 'viewer'),
      createUser(app, admin, 'auditor'),
    ]);
    [analyst, other] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
    ]);
    const keys = await Promise.all([
      createApiKey(app, admin, ['transactions:write']),
      createApiKey(app, admin, ['transactions:read']),
      createApiKey(app, analyst, ['transactions:write']),
      createApiKey(app, analyst, ['transactions:read']),
    ]);
    callers.push(
      { label: 'admin', token: admin.token, admitted: true },
      { label: 'analyst', token: analyst.token, admitted: true },
      { label: 'viewer', token: viewer.token, admitted: false },
      { label: 'auditor', token: auditor.token, admitted: false },
      { label: 'admin key [transactions:write]', token: keys[0].token, admitted: true },
      { label: 'admin key [transactions:read]', token: keys[1].token, admitted: false },
      { label: 'analyst key [transactions:write]', token: keys[2].token, admitted: true },
      { label: 'analyst key [transactions:read]', token: keys[3].token, admitted: false },
    );
  });
  afterAll(() => app?.stop());

  /** Fresh rows for `n` uses of each case: the analyst's (or the other user's), live or deleted. */
  const fixtures = async (all: Case[], n: number): Promise<string[][]> => {
    const wanted = all.flatMap((c, i) =>
      Array.from({ length: n }, () => ({ i, row: c.row })).filter((w) => w.row !== 'none'),
    );
    const made = await postBatch(app, admin, {
      operations: wanted.map((w) =>
        create({
          ownerId: w.row === 'other-live' ? other.id : analyst.id,
          category: 'Perm fixture',
          notes: 'fixture',
        }),
      ),
    });
    expect(made.status).toBe(200);
    const ids = (made.body.results as BatchResult[]).map((r) => r.id!);
    const toDelete = ids.filter((_, k) => wanted[k].row === 'deleted');
    if (toDelete.length > 0)
      expect((await postBatch(app, admin, { operations: toDelete.map(del) })).status).toBe(200);
    return all.map((c, i) =>
      c.row === 'none'
        ? Array.from({ length: n }, () => randomUUID())
        : ids.filter((_, k) => wanted[k].i === i),
    );
  };

  /** The state a successful operation left, to compare a twin pair (ids and times aside). */
  const stateOf = async (id: string) => {
    const { rows } = await app.sql.query(
      `SELECT owner_id::text AS owner, type::text AS type, amount::text AS amount, category,
         date::text AS date, currency::text AS currency, notes, deleted_at IS NULL AS live
       FROM transactions WHERE id = $1`,
      [id],
    );
    return rows[0] as Record<string, unknown> | undefined;
  };

  /** What a failure says, without what varies per request. */
  const failureOf = (body: { detail?: string; errors?: { field: string }[] }) => ({
    detail: body.detail,
    fields: (body.errors ?? []).map((e) => e.field).sort(),
  });

  it.each([
    'admin',
    'analyst',
    'admin key [transactions:write]',
    'analyst key [transactions:write]',
  ])('%s: each operation of a batch answers as its single route', async (label) => {
    const caller = callers.find((c) => c.label === label)!;
    const all = cases();
    // Three twins per case: one for the single route, one per-item batch, one atomic batch.
    const ids = await fixtures(all, 3);
    const singles: Response[] = [];
    for (const [i, c] of all.entries()) singles.push(await c.single(app, caller.token, ids[i][0]));
    // The single routes answered with statuses the contract names (no 5xx), successes and
    // refusals both, so the comparison below is not vacuous.
    const statuses = singles.map((res) => res.status);
    expect(
      statuses.filter((s) => ![200, 201, 204, 400, 403, 404, 409, 412, 422].includes(s)),
    ).toEqual([]);
    expect(statuses.some((s) => s < 300)).toBe(true);
    expect(new Set(statuses.filter((s) => s >= 400)).size).toBeGreaterThanOrEqual(
      label.startsWith('admin') ? 5 : 2,
    );

    const perItem = await postBatch(
      app,
      { token: caller.token },
      {
        atomic: false,
        operations: all.map((c, i) => c.op(ids[i][1])),
      },
    );
    expect(perItem.status).toBe(200);
    const results = perItem.body.results as BatchResult[];
    expect(results.map((r) => r.index)).toEqual(all.map((_, i) => i));
    for (const [i, c] of all.entries()) {
      const single = singles[i];
      const result = results[i];
      expect({ case: c.label, status: result.status }).toEqual({
        case: c.label,
        status: single.status,
      });
      if (single.status >= 400) {
        expect({ case: c.label, ...failureOf(result.problem ?? {}) }).toEqual({
          case: c.label,
          ...failureOf(single.body),
        });
        expect(result.problem?.status).toBe(single.status);
        continue;
      }
      // The same change: the twin rows hold the same values (a create's new rows alike).
      const singleId = c.row === 'none' ? (single.body.id as string) : ids[i][0];
      const batchId = c.row === 'none' ? result.id! : ids[i][1];
      expect({ case: c.label, state: await stateOf(batchId) }).toEqual({
        case: c.label,
        state: await stateOf(singleId),
      });
    }

    for (const [i, c] of all.entries()) {
      const single = singles[i];
      const atomic = await postBatch(
        app,
        { token: caller.token },
        { operations: [c.op(ids[i][2])] },
      );
      if (single.status < 400) {
        expect({ case: c.label, status: atomic.status }).toEqual({ case: c.label, status: 200 });
        expect((atomic.body.results as BatchResult[])[0].status).toBe(single.status);
        continue;
      }
      expectProblem(atomic, 422);
      const errors = atomic.body.errors as { index: number; status: number; field?: string }[];
      expect({ case: c.label, statuses: [...new Set(errors.map((e) => e.status))] }).toEqual({
        case: c.label,
        statuses: [single.status],
      });
      expect(errors.map((e) => e.field ?? null).sort()).toEqual(
        failureOf(single.body).fields.length > 0 ? failureOf(single.body).fields : [null],
      );
    }
  });

  it.each([
    'viewer',
    'auditor',
    'admin key [transactions:read]',
    'analyst key [transactions:read]',
  ])(
    '%s: 403 for the route, as for every single write route, and nothing written',
    async (label) => {
      const caller = callers.find((c) => c.label === label)!;
      const all = cases();
      const ids = await fixtures(all, 1);
      const before = await footprint(app);
      const singles: Response[] = [];
      for (const [i, c] of all.entries())
        singles.push(await c.single(app, caller.token, ids[i][0]));
      for (const [i, c] of all.entries())
        expect({ case: c.label, status: singles[i].status }).toEqual({
          case: c.label,
          status: 403,
        });
      for (const atomic of [true, false]) {
        const res = await postBatch(
          app,
          { token: caller.token },
          {
            atomic,
            operations: all.map((c, i) => c.op(ids[i][0])),
          },
        );
        expectProblem(res, 403);
        // The route's refusal reads as the single create route's.
        expect(res.body.detail).toBe(singles[0].body.detail);
      }
      expect(await footprint(app)).toEqual(before);
    },
  );
});
