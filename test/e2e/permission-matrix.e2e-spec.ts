import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import {
  keyScopesOf,
  ROUTES,
  type RouteKey,
  type RoutePolicy,
  type Scope,
  SCOPES,
  scopesOf,
} from '../../src/common/permissions';
import { startApp, type TestApp } from '../app';
import { expectProblem } from '../problems';
import {
  bearer,
  createApiKey,
  createUser,
  deactivate,
  loginAdmin,
  type Role,
  type TestUser,
} from '../factories';
import { validTx } from '../transactions';
import { waitFor } from '../waits';

/**
 * Every route × every kind of caller, checked against the one permission table the app enforces
 * (src/common/permissions.ts, from which the roles table of docs/api.md is generated too). A caller is
 * a signed-in role, an API key (its owner's role × its scopes), or a key that must be refused
 * outright (revoked, expired, owner deactivated). For each pair the test sends a request the
 * route would accept and expects the route's own success status when the table allows the pair,
 * 403 when it does not (naming the missing scope when only the scope is missing), and 401 for a
 * dead key. Routes with an id also check ownership: another user's row is a 404 for a caller
 * confined to its own data.
 */

interface Caller {
  label: string;
  /** The role whose permissions apply: the user's, or the key owner's. */
  role: Role;
  user: TestUser;
  token: string;
  /** Undefined for a signed-in user. */
  scopes?: readonly Scope[];
  /** A key that must not authenticate at all. */
  dead?: boolean;
}

interface Probe {
  path: string;
  body?: string | object;
  contentType?: string;
  /** What the route answers when the caller may use it. */
  ok: number;
}

const ORG_READERS: ReadonlySet<Role> = new Set(['admin', 'auditor']);

describe('permission matrix (every route × role × API key)', () => {
  let app: TestApp;
  let admin: TestUser;
  const users = {} as Record<Role, TestUser>;
  const callers: Caller[] = [];
  let adminTx: string;
  let adminAccount: string;
  let adminTransfer: string;
  let adminBudget: string;
  let adminExport: string;
  const imports = { admin: '', analyst: '' };
  const hook = { id: '', deliveryId: '' };
  let receiver: string;
  let receiverServer: Server;
  const webhook = async () =>
    (
      await app
        .http()
        .post('/api/v1/webhooks')
        .set(bearer(admin))
        .send({ url: `${receiver}/matrix`, events: ['transaction.created'] })
        .expect(201)
    ).body.id as string;
  const readsTransactions = (c: Caller) =>
    c.scopes === undefined || c.scopes.includes('transactions:read');
  const asyncImport = async (user: TestUser) => {
    const res = await app
      .http()
      .post('/api/v1/transactions/import?async=true')
      .set(bearer(user))
      .set('Content-Type', 'text/csv')
      .send('date,type,amount,category\n2026-01-04,expense,4.00,matrix\n')
      .expect(202);
    return (res.body as { id: string }).id;
  };

  const auth = (c: Caller) => ({ Authorization: `Bearer ${c.token}` });
  // A day no probe has used yet, so each exchange-rate write has a target of its own.
  let rateDays = 0;
  const freshRatePath = () =>
    `/exchange-rates/EUR/USD/${new Date(Date.UTC(2001, 0, 1 + ++rateDays)).toISOString().slice(0, 10)}`;
  const tx = async (owner: TestUser) => {
    const res = await app
      .http()
      .post('/api/v1/transactions')
      .set(bearer(admin))
      .send(
        validTx({
          amount: '12.34',
          category: 'matrix',
          date: '2026-01-15',
          notes: 'note',
          ownerId: owner.id,
        }),
      )
      .expect(201);
    return res.body.id as string;
  };

  const account = async (owner: TestUser) => {
    const res = await app
      .http()
      .post('/api/v1/accounts')
      .set(bearer(admin))
      .send({ name: 'matrix', type: 'checking', currency: 'USD', ownerId: owner.id })
      .expect(201);
    return res.body.id as string;
  };
  const budget = async (owner: TestUser) => {
    const res = await app
      .http()
      .post('/api/v1/budgets')
      .set(bearer(admin))
      .send({ name: 'matrix', amount: '100.00', period: 'month', ownerId: owner.id })
      .expect(201);
    return res.body.id as string;
  };
  const transferBody = async (owner: TestUser) => ({
    fromAccountId: await account(owner),
    toAccountId: await account(owner),
    amount: '1.00',
    date: '2026-01-05',
    notes: 'matrix',
  });
  const transfer = async (owner: TestUser) => {
    const res = await app
      .http()
      .post('/api/v1/transfers')
      .set(bearer(admin))
      .send(await transferBody(owner))
      .expect(201);
    return res.body.id as string;
  };

  /** The request that route `key` would accept from caller `c` (fresh targets for writes). */
  const probes: Record<RouteKey, (c: Caller) => Probe | Promise<Probe>> = {
    'POST /auth/login': () => ({ path: '/auth/login', body: {}, ok: 400 }),
    'POST /auth/refresh': () => ({ path: '/auth/refresh', body: {}, ok: 400 }),
    'POST /auth/logout': () => ({ path: '/auth/logout', body: {}, ok: 400 }),
    'GET /auth/me': () => ({ path: '/auth/me', ok: 200 }),
    // A wrong current password: the route answers, but no password changes under the matrix.
    'POST /auth/password': () => ({
      path: '/auth/password',
      body: { currentPassword: 'not-the-password', newPassword: 'another-password-1' },
      ok: 400,
    }),
    'POST /api-keys': () => ({
      path: '/api-keys',
      body: { name: 'matrix', scopes: ['transactions:read'] },
      ok: 201,
    }),
    'GET /api-keys': () => ({ path: '/api-keys', ok: 200 }),
    'GET /api-keys/{id}': async (c) => ({
      path: `/api-keys/${c.scopes ? randomUUID() : (await createApiKey(app, c.user, ['transactions:read'])).id}`,
      ok: 200,
    }),
    'DELETE /api-keys/{id}': async (c) => ({
      path: `/api-keys/${c.scopes ? randomUUID() : (await createApiKey(app, c.user, ['transactions:read'])).id}`,
      ok: 204,
    }),
    // A key creates users without a password (it may not set one: api-keys.e2e-spec.ts).
    'POST /users': (c) => ({
      path: '/users',
      body: {
        name: 'Matrix',
        email: `m-${randomBytes(4).toString('hex')}@test.local`,
        ...(c.scopes === undefined ? { password: 'password-123' } : {}),
        role: 'viewer',
      },
      ok: 201,
    }),
    'GET /users': () => ({ path: '/users', ok: 200 }),
    // Another user: org readers see it, everyone else is told it does not exist.
    'GET /users/{id}': (c) => ({
      path: `/users/${users.viewer.id === c.user.id ? users.analyst.id : users.viewer.id}`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    // Another user: only admins may export them; an auditor (who reads users) is refused, to
    // everyone else the user does not exist, as on GET /users/{id}.
    'POST /users/{id}/export': (c) => ({
      path: `/users/${users.viewer.id === c.user.id ? users.analyst.id : users.viewer.id}/export`,
      ok: c.role === 'admin' ? 202 : c.role === 'auditor' ? 403 : 404,
    }),
    // The admin's own export: someone else's to everyone but admins.
    'GET /exports/{id}': (c) => ({
      path: `/exports/${adminExport}`,
      ok: c.role === 'admin' ? 200 : 404,
    }),
    'GET /exports/{id}/download': (c) => ({
      path: `/exports/${adminExport}/download`,
      ok: c.role === 'admin' ? 200 : 404,
    }),
    'PATCH /users/{id}': () => ({
      path: `/users/${users.viewer.id}`,
      body: { name: `Viewer ${randomBytes(2).toString('hex')}` },
      ok: 200,
    }),
    // A fresh user each time: an admin's erasure of it is a 202 (lifecycle: erasure.e2e-spec.ts).
    'POST /users/{id}/erase': async () => ({
      path: `/users/${(await createUser(app, admin, 'viewer')).id}/erase`,
      ok: 202,
    }),
    'POST /transactions': () => ({
      path: '/transactions',
      body: { type: 'income', amount: '1.00', category: 'matrix', date: '2026-01-02' },
      ok: 201,
    }),
    'GET /transactions': () => ({ path: '/transactions', ok: 200 }),
    // The admin's row: org readers see it, everyone else gets a 404.
    'GET /transactions/{id}': (c) => ({
      path: `/transactions/${adminTx}`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    'PATCH /transactions/{id}': async () => ({
      path: `/transactions/${await tx(users.analyst)}`,
      body: { amount: '2.00' },
      ok: 200,
    }),
    'DELETE /transactions/{id}': async () => ({
      path: `/transactions/${await tx(users.analyst)}`,
      ok: 204,
    }),
    'POST /transactions/{id}/restore': async () => {
      const id = await tx(users.analyst);
      await app.http().delete(`/api/v1/transactions/${id}`).set(bearer(admin)).expect(204);
      return { path: `/transactions/${id}/restore`, ok: 200 };
    },
    'POST /transactions/batch': () => ({
      path: '/transactions/batch',
      body: {
        operations: [
          {
            op: 'create',
            data: { type: 'income', amount: '1.00', category: 'matrix', date: '2026-01-02' },
          },
        ],
      },
      ok: 200,
    }),
    'GET /transactions/export': () => ({ path: '/transactions/export', ok: 200 }),
    'POST /transactions/import': () => ({
      path: '/transactions/import',
      body: 'date,type,amount,category\n2026-01-03,expense,3.00,matrix\n',
      contentType: 'text/csv',
      ok: 201,
    }),
    'GET /dashboard': () => ({ path: '/dashboard', ok: 200 }),
    'GET /dashboard/summary': () => ({ path: '/dashboard/summary', ok: 200 }),
    'GET /dashboard/recent': () => ({ path: '/dashboard/recent', ok: 200 }),
    'GET /dashboard/categories': () => ({ path: '/dashboard/categories', ok: 200 }),
    'GET /dashboard/trends': () => ({ path: '/dashboard/trends', ok: 200 }),
    'GET /dashboard/forecast': () => ({ path: '/dashboard/forecast', ok: 200 }),
    'GET /audit-logs': () => ({ path: '/audit-logs', ok: 200 }),
    'GET /currencies': () => ({ path: '/currencies', ok: 200 }),
    'GET /exchange-rates': () => ({ path: '/exchange-rates', ok: 200 }),
    'PUT /exchange-rates/{base}/{quote}/{date}': () => ({
      path: freshRatePath(),
      body: { rate: '1.0845' },
      ok: 201,
    }),
    'DELETE /exchange-rates/{base}/{quote}/{date}': async () => {
      const path = freshRatePath();
      await app.http().put(`/api/v1${path}`).set(bearer(admin)).send({ rate: '1.1' }).expect(201);
      return { path, ok: 204 };
    },
    'POST /exchange-rates/import': () => ({
      path: '/exchange-rates/import',
      body: 'base,quote,date,rate\nEUR,USD,2000-01-03,1.1\n',
      contentType: 'text/csv',
      ok: 201,
    }),
    'POST /accounts': () => ({
      path: '/accounts',
      body: { name: 'matrix', type: 'cash', currency: 'EUR' },
      ok: 201,
    }),
    'GET /accounts': () => ({ path: '/accounts', ok: 200 }),
    // The admin's account: org readers see it, everyone else gets a 404.
    'GET /accounts/{id}': (c) => ({
      path: `/accounts/${adminAccount}`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    'GET /accounts/{id}/balance': (c) => ({
      path: `/accounts/${adminAccount}/balance`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    // The caller's own fresh account (a key's: its owner's), so an analyst may change it.
    'PATCH /accounts/{id}': async (c) => ({
      path: `/accounts/${await account(c.user)}`,
      body: { name: 'renamed' },
      ok: 200,
    }),
    'DELETE /accounts/{id}': async () => ({
      path: `/accounts/${await account(users.analyst)}`,
      ok: 204,
    }),
    'POST /budgets': () => ({
      path: '/budgets',
      body: { name: 'matrix', amount: '50.00', period: 'quarter', category: 'matrix' },
      ok: 201,
    }),
    'GET /budgets': () => ({ path: '/budgets', ok: 200 }),
    // The admin's budget: org readers see it, everyone else gets a 404.
    'GET /budgets/{id}': (c) => ({
      path: `/budgets/${adminBudget}`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    'GET /budgets/{id}/status': (c) => ({
      path: `/budgets/${adminBudget}/status?period=2026-01`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    // The caller's own fresh budget (a key's: its owner's), so an analyst may change it.
    'PATCH /budgets/{id}': async (c) => ({
      path: `/budgets/${await budget(c.user)}`,
      body: { name: 'renamed' },
      ok: 200,
    }),
    'DELETE /budgets/{id}': async (c) => ({
      path: `/budgets/${await budget(c.user)}`,
      ok: 204,
    }),
    'POST /transfers': async (c) => ({
      path: '/transfers',
      body: await transferBody(c.user),
      ok: 201,
    }),
    'GET /transfers': () => ({ path: '/transfers', ok: 200 }),
    'GET /transfers/{id}': (c) => ({
      path: `/transfers/${adminTransfer}`,
      ok: ORG_READERS.has(c.role) ? 200 : 404,
    }),
    'DELETE /transfers/{id}': async () => ({
      path: `/transfers/${await transfer(users.analyst)}`,
      ok: 204,
    }),
    'POST /transfers/{id}/restore': async () => {
      const id = await transfer(users.analyst);
      await app.http().delete(`/api/v1/transfers/${id}`).set(bearer(admin)).expect(204);
      return { path: `/transfers/${id}/restore`, ok: 200 };
    },
    // Its own import for a caller that may import (a key: its owner's); the others are refused first.
    'GET /imports/{id}': (c) => ({
      path: `/imports/${c.user.id === admin.id ? imports.admin : imports.analyst}`,
      ok: 200,
    }),
    'GET /events': () => ({ path: '/events', ok: 200 }),
    // Admitted, a key still sets up only deliveries it could read from the feed (transactions:read).
    'POST /webhooks': (c) => ({
      path: '/webhooks',
      body: { url: `${receiver}/matrix`, events: ['transaction.created'] },
      ok: readsTransactions(c) ? 201 : 403,
    }),
    'GET /webhooks': () => ({ path: '/webhooks', ok: 200 }),
    'GET /webhooks/{id}': () => ({ path: `/webhooks/${hook.id}`, ok: 200 }),
    'PATCH /webhooks/{id}': (c) => ({
      path: `/webhooks/${hook.id}`,
      body: { description: 'matrix' },
      ok: readsTransactions(c) ? 200 : 403,
    }),
    'DELETE /webhooks/{id}': async () => ({ path: `/webhooks/${await webhook()}`, ok: 204 }),
    'POST /webhooks/{id}/rotate-secret': () => ({
      path: `/webhooks/${hook.id}/rotate-secret`,
      ok: 200,
    }),
    'POST /webhooks/{id}/ping': () => ({ path: `/webhooks/${hook.id}/ping`, ok: 200 }),
    'GET /webhooks/{id}/deliveries': () => ({ path: `/webhooks/${hook.id}/deliveries`, ok: 200 }),
    'POST /webhooks/{id}/deliveries/{deliveryId}/retry': () => ({
      path: `/webhooks/${hook.id}/deliveries/${hook.deliveryId}/retry`,
      ok: 202,
    }),
  };

  /** What the table says caller `c` gets from route `key`, given what the route answers when allowed. */
  function expected(key: RouteKey, c: Caller, ok: number): { status: number; detail?: string } {
    const policy: RoutePolicy = ROUTES[key];
    if (c.scopes !== undefined && policy.scope === null) return { status: 403 };
    if (policy.roles.length === 0) return { status: ok };
    if (c.dead) return { status: 401 };
    if (!policy.roles.includes(c.role)) return { status: 403 };
    const admitting = keyScopesOf(policy);
    if (c.scopes !== undefined && !admitting.some((s) => c.scopes?.includes(s))) {
      return { status: 403, detail: admitting.join(' or ') };
    }
    return { status: ok };
  }

  beforeAll(async () => {
    // A local receiver for the webhook routes (loopback only, allowed for this test app).
    receiverServer = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => receiverServer.listen(0, '127.0.0.1', resolve));
    receiver = `http://127.0.0.1:${(receiverServer.address() as AddressInfo).port}`;
    app = await startApp({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    admin = await loginAdmin(app);
    users.admin = admin;
    for (const role of ['analyst', 'viewer', 'auditor'] as const) {
      users[role] = await createUser(app, admin, role);
    }
    adminTx = await tx(admin);
    adminAccount = await account(admin);
    adminTransfer = await transfer(admin);
    adminBudget = await budget(admin);
    imports.admin = await asyncImport(admin);
    imports.analyst = await asyncImport(users.analyst);
    adminExport = (
      await app.http().post(`/api/v1/users/${admin.id}/export`).set(bearer(admin)).expect(202)
    ).body.id as string;
    await waitFor('the admin’s export', async () => {
      const res = await app.http().get(`/api/v1/exports/${adminExport}`).set(bearer(admin));
      return (res.body as { status: string }).status === 'succeeded';
    });
    hook.id = await webhook();
    const ping = await app
      .http()
      .post(`/api/v1/webhooks/${hook.id}/ping`)
      .set(bearer(admin))
      .expect(200);
    hook.deliveryId = (ping.body as { id: string }).id;
    for (const role of ['admin', 'analyst', 'viewer', 'auditor'] as const) {
      callers.push({ label: role, role, user: users[role], token: users[role].token });
    }
    // One key per scope, owned by an admin, so the scope alone decides.
    for (const scope of SCOPES) {
      const key = await createApiKey(app, admin, [scope]);
      callers.push({
        label: `key[${scope}]`,
        role: 'admin',
        user: admin,
        token: key.token,
        scopes: [scope],
      });
    }
    // A key with every scope its owner's role can use: role ∩ scopes.
    for (const role of ['analyst', 'viewer', 'auditor'] as const) {
      const usable = scopesOf(role);
      const key = await createApiKey(app, users[role], usable);
      callers.push({
        label: `${role} key[${usable.join(',')}]`,
        role,
        user: users[role],
        token: key.token,
        scopes: usable,
      });
      // Anything beyond the role is refused at creation, not stored unusable.
      const beyond = SCOPES.filter((s) => !usable.includes(s));
      await app
        .http()
        .post('/api/v1/api-keys')
        .set(bearer(users[role]))
        .send({ name: 'too much', scopes: beyond })
        .expect(422);
    }
    // Keys that must not authenticate at all.
    const revoked = await createApiKey(app, admin, [...SCOPES]);
    await app.http().delete(`/api/v1/api-keys/${revoked.id}`).set(bearer(admin)).expect(204);
    const expired = await createApiKey(app, admin, [...SCOPES]);
    await app.sql.query(
      `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [expired.id],
    );
    const leaver = await createUser(app, admin, 'analyst');
    const orphan = await createApiKey(app, leaver, ['transactions:read', 'transactions:write']);
    await deactivate(app, admin, leaver);
    for (const [label, key, role] of [
      ['revoked key', revoked, 'admin'],
      ['expired key', expired, 'admin'],
      ['key of a deactivated user', orphan, 'analyst'],
    ] as const) {
      callers.push({
        label,
        role,
        user: admin,
        token: key.token,
        scopes: key.scopes as Scope[],
        dead: true,
      });
    }
  });
  afterAll(async () => {
    await app.stop();
    receiverServer.close();
  });

  it('covers every route of the table with a probe', () => {
    expect(Object.keys(probes).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it.each(Object.keys(ROUTES) as RouteKey[])(
    '%s answers every caller as the table says',
    async (key) => {
      const [method, route] = key.split(' ');
      const mismatches: string[] = [];
      for (const caller of callers) {
        const probe = await probes[key](caller);
        let req = app
          .http()
          [method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](
            `/api/v1${probe.path}`,
          )
          .set(auth(caller));
        if (probe.contentType) req = req.set('Content-Type', probe.contentType);
        const res: Response = probe.body === undefined ? await req : await req.send(probe.body);
        const want = expected(key, caller, probe.ok);
        const detail = (res.body as { detail?: string } | undefined)?.detail ?? '';
        if (res.status !== want.status || (want.detail && !detail.includes(want.detail))) {
          mismatches.push(
            `${caller.label}: ${res.status} ${detail} (expected ${want.status}${want.detail ? ` naming ${want.detail}` : ''})`,
          );
        }
      }
      expect({ route, mismatches }).toEqual({ route, mismatches: [] });
    },
  );

  // docs/api.md section 1: an unknown query parameter is a 400 on every route, whether or not the
  // route takes query parameters, before the route does anything.
  it.each(Object.keys(ROUTES) as RouteKey[])(
    '%s refuses an unknown query parameter with a 400 naming it',
    async (key) => {
      const [method] = key.split(' ');
      const caller = callers.find((c) => c.label === 'admin')!;
      const probe = await probes[key](caller);
      const path = `/api/v1${probe.path}${probe.path.includes('?') ? '&' : '?'}notAParameter=1`;
      let req = app
        .http()
        [method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](path)
        .set(auth(caller));
      if (probe.contentType) req = req.set('Content-Type', probe.contentType);
      const res: Response = probe.body === undefined ? await req : await req.send(probe.body);
      expectProblem(res, 400, ['notAParameter']);
    },
  );

  it('judges the query string only for a caller the route admits: 401 and 403 come first', async () => {
    const id = await tx(users.analyst);
    const path = `/api/v1/transactions/${id}?notAParameter=1`;
    expectProblem(await app.http().delete(path), 401);
    expectProblem(await app.http().delete(path).set(bearer(users.viewer)), 403);
    expectProblem(await app.http().get('/api/v1/auth/me?notAParameter=1'), 401);
    expectProblem(await app.http().delete(path).set(bearer(admin)), 400, ['notAParameter']);
  });

  it('leaves the row alone when DELETE /transactions/:id names an unknown parameter', async () => {
    const id = await tx(users.analyst);
    const res = await app.http().delete(`/api/v1/transactions/${id}?purge=true`).set(bearer(admin));
    expectProblem(res, 400, ['purge']);
    await app.http().get(`/api/v1/transactions/${id}`).set(bearer(admin)).expect(200);
  });

  it('lets the health checks answer whatever query string a probe sends', async () => {
    for (const path of ['/health/live?_=1', '/health/ready?probe=lb']) {
      await app.http().get(path).expect(200);
    }
  });
});
