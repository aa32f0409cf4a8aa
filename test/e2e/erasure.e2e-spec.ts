import { randomBytes, randomUUID } from 'node:crypto';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { startApp, type TestApp } from '../app';
import { bearer, createApiKey, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, TX } from '../transactions';
import { sleep, until, waitFor } from '../waits';

jest.setTimeout(240_000);

/**
 * Erasure (docs/api.md section 17): POST /users/:id/erase deactivates the user at once and a job
 * deletes their data and strips it from every copy, leaving a tombstone. The proof is a walk over
 * every column of every table (pg-boss's too): none may hold the user's marker afterwards.
 */

/** Every column of every table, as text, in the app's and pg-boss's schemas. */
async function columnsHolding(app: TestApp, needles: string[]): Promise<string[]> {
  const { rows: columns } = await app.sql.query<{ s: string; t: string; c: string; type: string }>(
    `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c, c.data_type AS type
     FROM information_schema.columns c
     JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE t.table_type = 'BASE TABLE' AND c.table_schema IN ('public', 'pgboss')
     ORDER BY 1, 2, 3`,
  );
  expect(columns.some((c) => c.s === 'pgboss')).toBe(true);
  const found: string[] = [];
  for (const col of columns) {
    const text = col.type === 'bytea' ? `encode("${col.c}", 'escape')` : `"${col.c}"::text`;
    for (const needle of needles) {
      const { rows } = await app.sql.query<{ value: string }>(
        `SELECT left(${text}, 300) AS value FROM "${col.s}"."${col.t}" WHERE ${text} ILIKE $1 LIMIT 1`,
        [`%${needle}%`],
      );
      // The value itself, so a failure shows which copy was missed.
      if (rows.length > 0) found.push(`${col.s}.${col.t}.${col.c}: ${rows[0].value}`);
    }
  }
  return found;
}

/** A decimal string with two places as cents, exactly. */
const cents = (amount: string) => {
  const [whole, frac = ''] = amount.split('.');
  const sign = whole.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(whole.replace('-', '')) * 100n + BigInt(frac.padEnd(2, '0')));
};

interface Summary {
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
}

describe('erasure: POST /users/:id/erase', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    a = await startApp({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    b = await startApp({}, { databaseUrl: a.databaseUrl });
    admin = await loginAdmin(a);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const erase = (by: { token: string }, id: string) =>
    a.http().post(`/api/v1/users/${id}/erase`).set(bearer(by));
  const status = async (app: TestApp, token: string, path = '/api/v1/auth/me') =>
    (await app.http().get(path).set(bearer({ token }))).status;
  const summary = async (query: Record<string, string> = {}) =>
    (
      await a
        .http()
        .get('/api/v1/dashboard/summary')
        .query({ from: '2026-01-01', to: '2026-12-31', ...query })
        .set(bearer(admin))
        .expect(200)
    ).body as Summary;
  const erased = (id: string) =>
    waitFor(
      `user ${id} to become a tombstone`,
      async () =>
        (await a.http().get(`/api/v1/users/${id}`).set(bearer(admin)).expect(200)).body.name ===
        'Erased user',
      { ms: 60_000, every: 100 },
    );

  it('deletes the user’s data, redacts every copy, leaves a tombstone, and refuses its credentials at once', async () => {
    const marker = `zq${randomBytes(6).toString('hex')}`;
    const victimName = `Victim ${marker}`;
    const victim = await createUser(a, admin, 'admin', {
      name: victimName,
      email: `victim-${marker}@test.local`,
    });
    const bystander = await createUser(a, admin, 'analyst');
    // The admin's own webhook hears about the victim: its deliveries copy those events.
    await a
      .http()
      .post('/api/v1/webhooks')
      .set(bearer(admin))
      .send({
        url: 'http://127.0.0.1:9/admin-hook',
        events: ['user.created', 'user.updated', 'transaction.created', 'budget.threshold_crossed'],
      })
      .expect(201);

    // The victim's data: accounts, transactions (one deleted), a transfer, a budget crossed, a
    // key, a webhook, refresh tokens, an idempotent create.
    const account = async (name: string) =>
      (
        await a
          .http()
          .post('/api/v1/accounts')
          .set(bearer(victim))
          .send({
            name,
            type: 'checking',
            currency: 'USD',
            openingBalance: '0.00',
            openingDate: '2026-01-01',
          })
          .expect(201)
      ).body.id as string;
    const checking = await account(`Checking ${marker}`);
    const savings = await account(`Savings ${marker}`);
    await a
      .http()
      .post('/api/v1/budgets')
      .set(bearer(victim))
      .send({
        name: `Budget ${marker}`,
        period: 'month',
        amount: '10.00',
        currency: 'USD',
        thresholds: [50],
      })
      .expect(201);
    await createTx(a, victim, {
      type: 'income',
      amount: '100.00',
      category: 'salary',
      date: '2026-03-01',
      notes: `pay ${marker}`,
      accountId: checking,
    });
    await createTx(a, victim, {
      type: 'expense',
      amount: '10.00',
      category: 'food',
      date: '2026-03-02',
      notes: `lunch ${marker}`,
    });
    const gone = await createTx(a, victim, {
      type: 'expense',
      amount: '5.00',
      category: 'food',
      date: '2026-03-03',
      notes: `deleted ${marker}`,
    });
    await a.http().delete(`${TX}/${gone.id}`).set(bearer(victim)).expect(204);
    await a
      .http()
      .post(TX)
      .set(bearer(victim))
      .set('Idempotency-Key', `idem-${marker}`)
      .send({
        type: 'expense',
        amount: '1.00',
        category: 'misc',
        date: '2026-03-04',
        notes: `idem ${marker}`,
      })
      .expect(201);
    // The admin writes for the victim: entries and a stored response that the admin owns.
    await a
      .http()
      .post(TX)
      .set(bearer(admin))
      .set('Idempotency-Key', `admin-${marker}`)
      .send({
        type: 'expense',
        amount: '7.00',
        category: 'misc',
        date: '2026-03-05',
        notes: `by admin ${marker}`,
        ownerId: victim.id,
      })
      .expect(201);
    await a
      .http()
      .post('/api/v1/transfers')
      .set(bearer(victim))
      .send({
        fromAccountId: checking,
        toAccountId: savings,
        amount: '20.00',
        date: '2026-03-06',
        notes: `move ${marker}`,
      })
      .expect(201);
    const key = await createApiKey(a, victim, ['transactions:read'], { name: `Key ${marker}` });
    await a
      .http()
      .post('/api/v1/webhooks')
      .set(bearer(victim))
      .send({
        url: `http://127.0.0.1:9/${marker}`,
        description: `Hook ${marker}`,
        events: ['transaction.created'],
      })
      .expect(201);
    // An admin edits the victim: user.update entries and events carry the name and email.
    await a
      .http()
      .patch(`/api/v1/users/${victim.id}`)
      .set(bearer(admin))
      .send({ name: `${victimName} II` })
      .expect(200);
    // A second session: two refresh tokens.
    const second = (
      await a
        .http()
        .post('/api/v1/auth/login')
        .send({ email: victim.email, password: victim.password })
        .expect(200)
    ).body as { refreshToken: string };

    // The bystander, whose figures must not move.
    await createTx(a, bystander, {
      type: 'income',
      amount: '50.00',
      category: 'salary',
      date: '2026-03-01',
      notes: 'mine',
    });
    await createTx(a, bystander, {
      type: 'expense',
      amount: '12.34',
      category: 'food',
      date: '2026-03-02',
    });

    // A personal data export of the victim: its stored document holds all of the above.
    const exported = (
      await a.http().post(`/api/v1/users/${victim.id}/export`).set(bearer(victim)).expect(202)
    ).body as { id: string };
    await waitFor(
      'the victim’s personal data export',
      async () =>
        (await a.http().get(`/api/v1/exports/${exported.id}`).set(bearer(victim))).body.status ===
        'succeeded',
    );

    // Every copy exists before the erasure, or the walk below proves nothing.
    await waitFor(
      'a delivery copying the victim’s data',
      async () =>
        (
          await a.sql.query(`SELECT 1 FROM webhook_deliveries WHERE payload ILIKE $1`, [
            `%${marker}%`,
          ])
        ).rowCount! > 0,
    );
    const before = await columnsHolding(a, [marker]);
    for (const table of [
      'users',
      'transactions',
      'transfers',
      'accounts',
      'budgets',
      'api_keys',
      'webhooks',
      'webhook_deliveries',
      'events',
      'audit_logs',
      'idempotency_keys',
      'transaction_changes',
      'export_chunks',
    ])
      expect(before.some((f) => f.startsWith(`public.${table}.`))).toBe(true);
    const alerts = await a.sql.query(
      `SELECT 1 FROM budget_alerts al JOIN budgets bu ON bu.id = al.budget_id WHERE bu.owner_id = $1`,
      [victim.id],
    );
    expect(alerts.rowCount).toBeGreaterThan(0);
    const trail = (
      await a.sql.query<{ id: string; action: string }>(
        `SELECT id, action FROM audit_logs WHERE changes::text ILIKE $1 ORDER BY id`,
        [`%${marker}%`],
      )
    ).rows;
    expect(trail.map((e) => e.action)).toEqual(
      expect.arrayContaining(['user.create', 'user.update', 'transaction.create']),
    );
    const orgBefore = await summary();
    const victimBefore = await summary({ userId: victim.id });
    const bystanderBefore = await summary({ userId: bystander.id });
    expect(victimBefore.transactionCount).toBe(4);
    // Converted into another currency, the victim's months and all-time totals are also kept
    // (rollup_converted, then rollup_converted_totals; with or without a rate: a 200 or a 422).
    await a
      .http()
      .get('/api/v1/dashboard/summary')
      .query({ from: '2026-01-01', to: '2026-12-31', userId: victim.id, currency: 'EUR' })
      .set(bearer(admin));
    await waitFor(
      'the victim’s converted months',
      async () =>
        (
          await a.sql.query(`SELECT 1 FROM rollup_converted_totals WHERE scope_id = $1`, [
            victim.id,
          ])
        ).rowCount !== 0,
    );
    const bystanderRows = (await a.http().get(TX).set(bearer(bystander)).expect(200)).body;
    // Both instances have the victim cached.
    expect(await status(a, victim.token)).toBe(200);
    expect(await status(b, victim.token)).toBe(200);
    expect(await status(a, key.token, TX)).toBe(200);

    const res = await erase(admin, victim.id).expect(202);
    expect(res.headers.location).toBe(`/api/v1/users/${victim.id}`);
    expect(res.body).toEqual({ userId: victim.id, status: 'queued' });

    // Refused at once where it was erased, and on the other instance as soon as it hears.
    expect(await status(a, victim.token)).toBe(401);
    expect(await status(a, key.token, TX)).toBe(401);
    await waitFor(
      'the other instance to refuse the erased user',
      async () => (await status(b, victim.token)) === 401,
      { ms: 10_000, every: 20 },
    );
    expect(await status(b, key.token, TX)).toBe(401);
    for (const refreshToken of [victim.refreshToken, second.refreshToken])
      await a.http().post('/api/v1/auth/refresh').send({ refreshToken }).expect(401);

    await erased(victim.id);
    const tombstone = (
      await a.http().get(`/api/v1/users/${victim.id}`).set(bearer(admin)).expect(200)
    ).body;
    expect(tombstone).toMatchObject({
      id: victim.id,
      name: 'Erased user',
      email: `erased-${victim.id}@invalid`,
      isActive: false,
    });

    // Nothing of the victim's name, email or notes anywhere.
    expect(await columnsHolding(a, [marker])).toEqual([]);
    // And no row of theirs, personal text or not (refresh tokens hold none).
    const owned = [
      ['transactions', 'owner_id'],
      ['transfers', 'owner_id'],
      ['accounts', 'owner_id'],
      ['budgets', 'owner_id'],
      ['webhooks', 'owner_id'],
      ['imports', 'owner_id'],
      ['exports', 'user_id'],
      ['events', 'owner_id'],
      ['api_keys', 'user_id'],
      ['refresh_tokens', 'user_id'],
      ['idempotency_keys', 'user_id'],
      ['rollup_daily', 'scope_id'],
      ['rollup_monthly', 'scope_id'],
      ['rollup_totals', 'scope_id'],
      ['rollup_converted', 'scope_id'],
      ['rollup_converted_totals', 'scope_id'],
    ] as const;
    for (const [table, column] of owned)
      expect([
        table,
        (await a.sql.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [victim.id])).rowCount,
      ]).toEqual([table, 0]);

    // The tombstone stays one: it can be neither revived nor given a password or a name.
    for (const change of [{ isActive: true }, { password: 'revived-password' }, { name: 'Back' }])
      expectProblem(
        await a.http().patch(`/api/v1/users/${victim.id}`).set(bearer(admin)).send(change),
        409,
      );

    // The trail keeps its entries and actions; the erasure is in it, and one event says so.
    const kept = (
      await a.sql.query<{ id: string; action: string }>(
        `SELECT id, action FROM audit_logs WHERE id = ANY($1) ORDER BY id`,
        [trail.map((e) => e.id)],
      )
    ).rows;
    expect(kept).toEqual(trail);
    const entry = await a.sql.query(
      `SELECT actor_id, changes FROM audit_logs WHERE action = 'user.erase' AND entity_id = $1`,
      [victim.id],
    );
    expect(entry.rows).toEqual([{ actor_id: admin.id, changes: {} }]);
    const event = await a.sql.query(`SELECT actor_id, data FROM events WHERE type = 'user.erased'`);
    expect(event.rows).toEqual([{ actor_id: admin.id, data: { id: victim.id } }]);

    // The others' figures: the bystander's unchanged, the organisation's less the victim's share.
    expect(await summary({ userId: bystander.id })).toEqual(bystanderBefore);
    expect((await a.http().get(TX).set(bearer(bystander)).expect(200)).body).toEqual(bystanderRows);
    const orgAfter = await summary();
    for (const field of ['totalIncome', 'totalExpenses', 'netBalance'] as const)
      expect(cents(orgAfter[field])).toBe(cents(orgBefore[field]) - cents(victimBefore[field]));
    expect(orgAfter.transactionCount).toBe(
      orgBefore.transactionCount - victimBefore.transactionCount,
    );
    expect(await summary({ userId: victim.id })).toMatchObject({
      transactionCount: 0,
      totalIncome: '0.00',
    });

    // The old password opens nothing (last: a failed login is audited with the email it tried).
    await a
      .http()
      .post('/api/v1/auth/login')
      .send({ email: victim.email, password: victim.password })
      .expect(401);
    // Again: nothing left to do, said so.
    expect((await erase(admin, victim.id).expect(202)).body).toEqual({
      userId: victim.id,
      status: 'erased',
    });
  });

  it('refuses oneself (the last active admin too), non-admins, API keys and unknown users', async () => {
    expectProblem(await erase(admin, admin.id), 409);
    const analyst = await createUser(a, admin, 'analyst');
    const target = await createUser(a, admin, 'viewer');
    expectProblem(await erase(analyst, target.id), 403);
    const key = await createApiKey(a, admin, ['users:write', 'users:read']);
    const byKey = await erase(key, target.id);
    expectProblem(byKey, 403);
    expect(byKey.body.detail).toMatch(/human decision/);
    expectProblem(await erase(admin, randomUUID()), 404);
    expectProblem(await erase(admin, 'not-a-uuid'), 400);
    // None of them touched the target.
    expect(await status(a, target.token)).toBe(200);
  });

  it('leaves no row of a running import: one not yet writing fails, one writing is waited for and deleted', async () => {
    const marker = `zq${randomBytes(6).toString('hex')}`;
    const victim = await createUser(a, admin, 'analyst', {
      name: `Importer ${marker}`,
      email: `importer-${marker}@test.local`,
    });
    const lines = ['date,type,amount,category,notes'];
    for (let i = 1; i <= 60_000; i++)
      lines.push(`2026-01-15,expense,${(i % 900) + 1}.25,Bulk,row ${i} ${marker}`);
    const submitted = await a
      .http()
      .post(`${TX}/import?async=true`)
      .set(bearer(victim))
      .set('Content-Type', 'text/csv')
      .send(`${lines.join('\n')}\n`)
      .expect(202);
    const importId = submitted.body.id as string;
    await until(
      'the import to run',
      async () => {
        const job = (
          await a.http().get(`/api/v1/imports/${importId}`).set(bearer(admin)).expect(200)
        ).body;
        return job.status === 'running' && job.rowsRead > 0 ? job : undefined;
      },
      { ms: 60_000, every: 20 },
    );

    await erase(admin, victim.id).expect(202);
    await erased(victim.id);
    // The import's job ends (failed: the owner is gone), and its record went with the user.
    await waitFor(
      'the import job to end',
      async () => {
        const { rows } = await a.sql.query(
          `SELECT state FROM pgboss.job WHERE name = 'csv-import' AND data->>'importId' = $1`,
          [importId],
        );
        return (
          rows.length > 0 && rows.every((r) => r.state === 'completed' || r.state === 'failed')
        );
      },
      { ms: 120_000, every: 100 },
    );
    await a.http().get(`/api/v1/imports/${importId}`).set(bearer(admin)).expect(404);
    expect(
      (await a.sql.query(`SELECT 1 FROM transactions WHERE owner_id = $1`, [victim.id])).rowCount,
    ).toBe(0);
    expect(await columnsHolding(a, [marker])).toEqual([]);
  });

  it('waits for a write for the user that is still uncommitted when the job starts, then deletes it', async () => {
    const marker = `zq${randomBytes(6).toString('hex')}`;
    const victim = await createUser(a, admin, 'analyst', {
      name: `Writer ${marker}`,
      email: `writer-${marker}@test.local`,
    });
    // A write in flight (as a COPY is): its row references the user, and it has not committed.
    const writer = await a.sql.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
         VALUES ($1, 'expense', 3.00, 'USD', 'food', '2026-03-01', $2)`,
        [victim.id, `late ${marker}`],
      );
      await erase(admin, victim.id).expect(202);
      // The job's lock on the user waits for the writer's foreign-key lock on it.
      await waitFor('the erasure job to wait for the open write', async () => {
        const { rows } = await a.sql.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%FROM users WHERE id = $1 FOR UPDATE%'`,
        );
        return rows.length > 0;
      });
      await writer.query('COMMIT');
    } finally {
      writer.release();
    }
    await erased(victim.id);
    expect(
      (await a.sql.query(`SELECT 1 FROM transactions WHERE owner_id = $1`, [victim.id])).rowCount,
    ).toBe(0);
    expect(await columnsHolding(a, [marker])).toEqual([]);
  });

  it('refuses a synchronous import whose upload was still arriving when the user was erased', async () => {
    const marker = `zq${randomBytes(6).toString('hex')}`;
    const victim = await createUser(a, admin, 'analyst', {
      name: `Uploader ${marker}`,
      email: `uploader-${marker}@test.local`,
    });
    // The upload starts (authenticated, owner active) and then stalls, as a slow client's does.
    let upload!: ClientRequest;
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      upload = httpRequest(
        `${a.url}/api/v1/transactions/import`,
        {
          method: 'POST',
          headers: { ...bearer(victim), 'Content-Type': 'text/csv' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      upload.on('error', reject);
    });
    upload.write(`date,type,amount,category,notes\n2026-01-15,expense,1.00,Bulk,first ${marker}\n`);
    // Not an assertion: only gives the app time to pass its checks before the erasure, so that
    // this exercises the check inside the import's transaction (either way no row may be left).
    await sleep(500);
    await erase(admin, victim.id).expect(202);
    await erased(victim.id);
    upload.end(`2026-01-16,expense,2.00,Bulk,second ${marker}\n`);
    const res = await answered;
    expect([res.status, JSON.parse(res.body).detail]).toEqual([
      422,
      'ownerId must reference an active user',
    ]);
    expect(
      (await a.sql.query(`SELECT 1 FROM transactions WHERE owner_id = $1`, [victim.id])).rowCount,
    ).toBe(0);
    expect(await columnsHolding(a, [marker])).toEqual([]);
  });

  it('waits for a webhook dispatch round in flight, then deletes the deliveries it copied', async () => {
    const marker = `zq${randomBytes(6).toString('hex')}`;
    const victim = await createUser(a, admin, 'analyst', {
      name: `Watched ${marker}`,
      email: `watched-${marker}@test.local`,
    });
    const hook = (
      await a
        .http()
        .post('/api/v1/webhooks')
        .set(bearer(admin))
        .send({ url: 'http://127.0.0.1:9/dispatch', events: ['user.updated'] })
        .expect(201)
    ).body.id as string;
    // A round in flight: it holds the dispatcher's position and has not committed the delivery
    // it is copying from an event about the victim.
    const dispatcher = await a.sql.connect();
    try {
      await dispatcher.query('BEGIN');
      await dispatcher.query(`SELECT 1 FROM webhook_dispatch WHERE id = 1 FOR UPDATE`);
      await erase(admin, victim.id).expect(202);
      await waitFor('the erasure job to wait for the dispatch round', async () => {
        const { rows } = await a.sql.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%FROM webhook_dispatch WHERE id = 1 FOR UPDATE%'
             AND pid <> $1`,
          [(dispatcher as unknown as { processID: number }).processID],
        );
        return rows.length > 0;
      });
      await dispatcher.query(
        `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload)
         VALUES ($1, gen_random_uuid(), 'user.updated', $2)`,
        [
          hook,
          JSON.stringify({
            type: 'user.updated',
            data: { id: victim.id, name: `Watched ${marker}` },
          }),
        ],
      );
      await dispatcher.query('COMMIT');
    } finally {
      dispatcher.release();
    }
    await erased(victim.id);
    expect(await columnsHolding(a, [marker])).toEqual([]);
  });

  it('redacts the audit entry of an edit to the user’s rows that commits while the job runs', async () => {
    const marker = `zq${randomBytes(6).toString('hex')}`;
    const victim = await createUser(a, admin, 'analyst', {
      name: `Edited ${marker}`,
      email: `edited-${marker}@test.local`,
    });
    const row = await createTx(a, victim, { notes: 'plain' });
    // An admin's edit in flight: the row is locked, its audit entry written, not yet committed.
    const editor = await a.sql.connect();
    try {
      await editor.query('BEGIN');
      await editor.query(`UPDATE transactions SET notes = $2 WHERE id = $1`, [
        row.id,
        `edit ${marker}`,
      ]);
      await editor.query(
        `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, changes)
         VALUES ($1, 'transaction.update', 'transaction', $2, $3)`,
        [admin.id, row.id, { notes: { before: 'plain', after: `edit ${marker}` } }],
      );
      await erase(admin, victim.id).expect(202);
      await waitFor('the erasure job to wait for the edit', async () => {
        const { rows } = await a.sql.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%DELETE FROM transactions%'`,
        );
        return rows.length > 0;
      });
      await editor.query('COMMIT');
    } finally {
      editor.release();
    }
    await erased(victim.id);
    expect(await columnsHolding(a, [marker])).toEqual([]);
  });
});
