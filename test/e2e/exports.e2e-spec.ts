import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type TestApp } from '../app';
import {
  bearer,
  createApiKey,
  createUser,
  loginAdmin,
  type TestKey,
  type TestUser,
} from '../factories';
import { expectProblem } from '../problems';
import { createTx, TX, type TxBody } from '../transactions';
import { until, waitFor } from '../waits';

jest.setTimeout(180_000);

const SCHEMA = JSON.parse(
  readFileSync(
    join(__dirname, '..', '..', 'docs', 'schemas', 'personal-data-export.schema.json'),
    'utf8',
  ),
) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(SCHEMA);

interface ExportBody {
  id: string;
  userId: string;
  status: string;
  createdAt: string;
  expiresAt: string;
}
type Doc = Record<string, unknown> & {
  profile: Record<string, unknown>;
  transactions: (TxBody & { deletedAt: string | null })[];
  accounts: { id: string; ownerId: string }[];
  transfers: { id: string; ownerId: string; deletedAt: string | null }[];
  budgets: { id: string; ownerId: string }[];
  apiKeys: { id: string; revokedAt: string | null }[];
  auditEntries: { actorId: string; action: string; entityId: string | null; changes: object }[];
};

/** Every (property name, value) pair anywhere in `value`. */
function* walk(value: unknown): Generator<[string, unknown]> {
  if (Array.isArray(value)) for (const v of value) yield* walk(v);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      yield [k, v];
      yield* walk(v);
    }
}

/** docs/api.md section 17: personal data export. */
describe('personal data export', () => {
  let app: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let viewer: TestUser;
  let auditor: TestUser;
  let aliceKey: TestKey;
  let revokedKey: TestKey;
  const own = {
    tx: [] as string[],
    deletedTx: '',
    account: '',
    transfer: '',
    deletedTransfer: '',
    budget: '',
  };
  const bobs = { ids: [] as string[], note: 'bob-private-note-7f3a' };

  const post = (user: { token: string }, userId: string) =>
    app.http().post(`/api/v1/users/${userId}/export`).set(bearer(user));
  const get = (user: { token: string }, id: string) =>
    app.http().get(`/api/v1/exports/${id}`).set(bearer(user));
  const download = (user: { token: string }, id: string) =>
    app.http().get(`/api/v1/exports/${id}/download`).set(bearer(user));

  /** Requests an export as `by`, checks the 202, and waits until it succeeded. */
  async function exportOf(by: TestUser, userId: string): Promise<ExportBody> {
    const res = await post(by, userId).expect(202);
    const body = res.body as ExportBody;
    expect(res.headers.location).toBe(`/api/v1/exports/${body.id}`);
    expect(body).toEqual({
      id: expect.any(String),
      userId,
      status: expect.stringMatching(/^(queued|running|succeeded)$/),
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    const days = (Date.parse(body.expiresAt) - Date.parse(body.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(7, 5);
    return until(`export ${body.id}`, async () => {
      const polled = (await get(by, body.id).expect(200)).body as ExportBody;
      expect(polled.status).not.toBe('failed');
      return polled.status === 'succeeded' ? polled : undefined;
    });
  }

  async function documentOf(by: TestUser, id: string): Promise<{ doc: Doc; text: string }> {
    const res = await download(by, id).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="personal-data-/);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    return { doc: res.body as Doc, text: res.text };
  }

  const create = async (user: TestUser, path: string, body: object) =>
    (await app.http().post(`/api/v1/${path}`).set(bearer(user)).send(body).expect(201)).body as {
      id: string;
    };

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [alice, bob, viewer, auditor] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'viewer'),
      createUser(app, admin, 'auditor'),
    ]);
    own.account = (
      await create(alice, 'accounts', { name: 'Main', type: 'checking', currency: 'USD' })
    ).id;
    const savings = (
      await create(alice, 'accounts', { name: 'Savings', type: 'savings', currency: 'USD' })
    ).id;
    own.tx.push(
      (
        await createTx(app, alice, {
          type: 'income',
          amount: '12345678901.23',
          accountId: own.account,
          notes: 'alice note',
        })
      ).id,
      (await createTx(app, alice, { amount: '1200', currency: 'JPY', category: 'Ramen' })).id,
    );
    own.deletedTx = (await createTx(app, alice, { category: 'Deleted later' })).id;
    await app.http().delete(`${TX}/${own.deletedTx}`).set(bearer(admin)).expect(204);
    const transferBody = {
      fromAccountId: own.account,
      toAccountId: savings,
      amount: '10.05',
      date: '2026-03-01',
    };
    own.transfer = (await create(alice, 'transfers', transferBody)).id;
    own.deletedTransfer = (
      await create(alice, 'transfers', { ...transferBody, amount: '1.00' })
    ).id;
    await app
      .http()
      .delete(`/api/v1/transfers/${own.deletedTransfer}`)
      .set(bearer(admin))
      .expect(204);
    own.budget = (
      await create(alice, 'budgets', { name: 'Food', amount: '500.00', period: 'month' })
    ).id;
    aliceKey = await createApiKey(app, alice, ['transactions:read', 'transactions:write']);
    revokedKey = await createApiKey(app, alice, ['transactions:read']);
    await app.http().delete(`/api/v1/api-keys/${revokedKey.id}`).set(bearer(alice)).expect(204);
    // A write through the key: an audit entry of alice's that carries the key's id.
    await app
      .http()
      .post(TX)
      .set(bearer(aliceKey))
      .send({ ...{ type: 'expense', amount: '3.00', category: 'Via key', date: '2026-03-02' } })
      .expect(201);

    // Bob's data, none of which may appear in alice's export.
    const bobAccount = (
      await create(bob, 'accounts', { name: 'Bob', type: 'cash', currency: 'USD' })
    ).id;
    bobs.ids.push(
      bobAccount,
      (await createTx(app, bob, { notes: bobs.note, accountId: bobAccount })).id,
      (await create(bob, 'budgets', { name: 'Bob budget', amount: '5.00', period: 'year' })).id,
      (await createApiKey(app, bob, ['transactions:read'])).id,
    );
  });
  afterAll(() => app?.stop());

  it('exports oneself: 202 + Location, then a document that validates and holds all of the user’s data and nobody else’s', async () => {
    const done = await exportOf(alice, alice.id);
    const { doc, text } = await documentOf(alice, done.id);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    expect(doc).toMatchObject({
      format: 'finance-api.personal-data-export',
      version: 1,
      exportId: done.id,
      userId: alice.id,
    });

    // The profile as GET /users/:id answers it.
    const profile = (
      await app.http().get(`/api/v1/users/${alice.id}`).set(bearer(alice)).expect(200)
    ).body;
    expect(doc.profile).toEqual(profile);

    // Transactions: every one, the deleted one with its deletedAt; each as GET /transactions/:id shapes it.
    const txIds = doc.transactions.map((t) => t.id);
    for (const id of [...own.tx, own.deletedTx]) expect(txIds).toContain(id);
    expect(doc.transactions).toHaveLength(4);
    for (const id of own.tx) {
      const one = (await app.http().get(`${TX}/${id}`).set(bearer(alice)).expect(200))
        .body as TxBody;
      expect(doc.transactions.find((t) => t.id === id)).toEqual({ ...one, deletedAt: null });
    }
    expect(doc.transactions.find((t) => t.id === own.deletedTx)?.deletedAt).toEqual(
      expect.any(String),
    );
    // Money exactly as stored, as a string.
    expect(text).toContain('"amount":"12345678901.23"');
    expect(doc.transactions.find((t) => t.id === own.tx[1])).toMatchObject({
      amount: '1200',
      currency: 'JPY',
    });

    // Accounts (with their balance), transfers (the deleted one too) and budgets in their API shapes.
    expect(doc.accounts).toHaveLength(2);
    const account = (
      await app.http().get(`/api/v1/accounts/${own.account}`).set(bearer(alice)).expect(200)
    ).body;
    expect(doc.accounts.find((a) => a.id === own.account)).toEqual(account);
    expect(doc.transfers.map((t) => t.id).sort()).toEqual(
      [own.transfer, own.deletedTransfer].sort(),
    );
    const transfer = (
      await app.http().get(`/api/v1/transfers/${own.transfer}`).set(bearer(alice)).expect(200)
    ).body;
    expect(doc.transfers.find((t) => t.id === own.transfer)).toEqual({
      ...transfer,
      deletedAt: null,
    });
    expect(doc.transfers.find((t) => t.id === own.deletedTransfer)?.deletedAt).toEqual(
      expect.any(String),
    );
    const budget = (
      await app.http().get(`/api/v1/budgets/${own.budget}`).set(bearer(alice)).expect(200)
    ).body;
    expect(doc.budgets).toEqual([budget]);

    // Key metadata, the revoked key too.
    const key = (
      await app.http().get(`/api/v1/api-keys/${aliceKey.id}`).set(bearer(alice)).expect(200)
    ).body;
    expect(doc.apiKeys.find((k) => k.id === aliceKey.id)).toEqual({ ...key, revokedAt: null });
    expect(doc.apiKeys.find((k) => k.id === revokedKey.id)?.revokedAt).toEqual(expect.any(String));
    expect(doc.apiKeys).toHaveLength(2);

    // The audit entries alice made, and only those: her creates, the write through her key, this export.
    expect(doc.auditEntries.length).toBeGreaterThan(0);
    for (const entry of doc.auditEntries) expect(entry.actorId).toBe(alice.id);
    const actions = doc.auditEntries.map((e) => e.action);
    for (const action of [
      'transaction.create',
      'account.create',
      'transfer.create',
      'budget.create',
      'api_key.create',
      'api_key.revoke',
      'user.export',
    ])
      expect(actions).toContain(action);
    expect(doc.auditEntries.find((e) => e.action === 'user.export')).toMatchObject({
      entityId: alice.id,
      changes: { exportId: done.id },
    });
    expect(
      doc.auditEntries.some((e) => (e as { apiKeyId?: string }).apiKeyId === aliceKey.id),
    ).toBe(true);
    const { rows } = await app.sql.query(
      'SELECT count(*)::int AS n FROM audit_logs WHERE actor_id = $1',
      [alice.id],
    );
    expect(doc.auditEntries).toHaveLength(rows[0].n);

    // Nobody else's data: every owner field is alice, no id or note of bob's appears.
    for (const [name, value] of walk(doc))
      if (['ownerId', 'userId', 'actorId'].includes(name) && typeof value === 'string')
        expect(value).toBe(alice.id);
    for (const id of [bob.id, ...bobs.ids]) expect(text).not.toContain(id);
    expect(text).not.toContain(bobs.note);
  });

  it('holds no secret: no password hash, no key or key hash, no refresh token or its hash', async () => {
    const done = await exportOf(alice, alice.id);
    const { doc, text } = await documentOf(alice, done.id);
    const names = [...walk(doc)].map(([name]) => name.toLowerCase());
    for (const secret of [
      'password',
      'passwordhash',
      'hash',
      'keyhash',
      'key',
      'secret',
      'token',
      'refreshtoken',
      'tokenhash',
    ])
      expect(names).not.toContain(secret);
    const { rows } = await app.sql.query(
      `SELECT u.password_hash AS password,
              (SELECT array_agg(encode(key_hash, 'hex')) FROM api_keys WHERE user_id = u.id) AS keys,
              (SELECT array_agg(token_hash) FROM refresh_tokens WHERE user_id = u.id) AS tokens
       FROM users u WHERE u.id = $1`,
      [alice.id],
    );
    const stored = rows[0] as { password: string; keys: string[]; tokens: string[] };
    const secrets = [
      stored.password,
      ...stored.keys,
      ...stored.tokens,
      aliceKey.token,
      revokedKey.token,
      alice.refreshToken,
      alice.password,
    ];
    expect(secrets.every((s) => typeof s === 'string' && s.length >= 8)).toBe(true);
    for (const secret of secrets) expect(text).not.toContain(secret);
    for (const key of stored.keys)
      expect(text).not.toContain(Buffer.from(key, 'hex').toString('base64'));
  });

  it('lets an admin export another user; the user cannot read the admin’s export, nor can anyone else', async () => {
    const done = await exportOf(admin, alice.id);
    const { doc } = await documentOf(admin, done.id);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    expect(doc.userId).toBe(alice.id);
    expect(doc.transactions.map((t) => t.id)).toContain(own.deletedTx);
    const { rows } = await app.sql.query(
      `SELECT actor_id::text AS actor, entity_type AS "entityType", entity_id::text AS entity, changes
       FROM audit_logs WHERE action = 'user.export' AND changes->>'exportId' = $1`,
      [done.id],
    );
    expect(rows).toEqual([
      { actor: admin.id, entityType: 'user', entity: alice.id, changes: { exportId: done.id } },
    ]);
    // The admin's entries are not alice's: the export request is not among her audit entries.
    expect(
      doc.auditEntries.some((e) => (e.changes as { exportId?: string }).exportId === done.id),
    ).toBe(false);

    for (const other of [alice, bob, viewer, auditor]) {
      expectProblem(await get(other, done.id), 404);
      expectProblem(await download(other, done.id), 404);
    }
    // Admins read any export, an analyst's own included.
    const mine = await exportOf(alice, alice.id);
    await get(admin, mine.id).expect(200);
    await download(admin, mine.id).expect(200);
  });

  it('answers 404 to a non-admin exporting another user (as GET /users/:id), 403 to an auditor, 404 for an unknown user', async () => {
    expectProblem(await post(viewer, alice.id), 404);
    expectProblem(await post(bob, alice.id), 404);
    const refused = await post(auditor, alice.id);
    expectProblem(refused, 403);
    expect(refused.body.detail).toMatch(/Only admins may export another user/);
    expectProblem(await post(admin, randomUUID()), 404);
    // An auditor or a viewer exports itself.
    await exportOf(auditor, auditor.id);
    await exportOf(viewer, viewer.id);
    // The refusals wrote nothing.
    const { rows } = await app.sql.query(
      'SELECT count(*)::int AS n FROM exports WHERE user_id = $1 AND requested_by = ANY($2::uuid[])',
      [alice.id, [viewer.id, bob.id, auditor.id]],
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses API keys on every export route with a 403 that says why', async () => {
    const done = await exportOf(alice, alice.id);
    for (const res of [
      await post(aliceKey, alice.id),
      await get(aliceKey, done.id),
      await download(aliceKey, done.id),
    ]) {
      expectProblem(res, 403);
      expect(res.body.detail).toMatch(/API keys never export personal data/);
    }
    const adminKey = await createApiKey(app, admin, ['users:read', 'users:write']);
    expectProblem(await post(adminKey, alice.id), 403);
  });

  it('answers 400 to an id that is not a UUID', async () => {
    expectProblem(await post(alice, 'not-a-uuid'), 400, ['id']);
    expectProblem(await get(alice, 'not-a-uuid'), 400, ['id']);
    expectProblem(await download(alice, '123'), 400, ['id']);
    expectProblem(await get(alice, randomUUID()), 404);
  });

  it('answers 409 to a download before the export succeeded (queued, running or failed)', async () => {
    for (const [status, detail] of [
      ['queued', /queued/],
      ['running', /running/],
      ['failed', /failed/],
    ] as const) {
      const { rows } = await app.sql.query(
        `INSERT INTO exports (user_id, requested_by, status) VALUES ($1, $1, $2) RETURNING id`,
        [alice.id, status],
      );
      const id = rows[0].id as string;
      expect((await get(alice, id).expect(200)).body.status).toBe(status);
      const res = await download(alice, id);
      expectProblem(res, 409);
      expect(res.body.detail).toMatch(detail);
    }
  });

  it('answers 410 once an export expired, and the cleanup job deletes its content (and only that)', async () => {
    const expired = await exportOf(alice, alice.id);
    const kept = await exportOf(alice, alice.id);
    const chunks = async (id: string) =>
      (
        await app.sql.query('SELECT count(*)::int AS n FROM export_chunks WHERE export_id = $1', [
          id,
        ])
      ).rows[0].n as number;
    expect(await chunks(expired.id)).toBeGreaterThan(0);
    await app.sql.query(
      `UPDATE exports SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [expired.id],
    );
    for (const res of [
      await get(alice, expired.id),
      await download(alice, expired.id),
      await get(admin, expired.id),
    ]) {
      expectProblem(res, 410);
      expect(res.body.detail).toMatch(/expired/);
    }
    // Still another user's export for bob, expired or not.
    expectProblem(await get(bob, expired.id), 404);

    // A second instance runs the cleanup when it starts (it runs hourly too).
    const other = await startApp({}, { databaseUrl: app.databaseUrl });
    try {
      await waitFor(
        'the expired export’s content to be deleted',
        async () => (await chunks(expired.id)) === 0,
      );
    } finally {
      await other.stop();
    }
    const { rows } = await app.sql.query('SELECT content_deleted_at FROM exports WHERE id = $1', [
      expired.id,
    ]);
    expect(rows[0].content_deleted_at).toBeInstanceOf(Date);
    expectProblem(await download(alice, expired.id), 410);
    expect(await chunks(kept.id)).toBeGreaterThan(0);
    await download(alice, kept.id).expect(200);
  });
});
