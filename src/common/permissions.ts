import { ROLES, type Role } from './roles';

/**
 * Who may call which route: the one table the guards enforce, the OpenAPI document describes, the
 * roles table of docs/api.md is generated from and the permission-matrix e2e test walks. A route states
 * its key (`@Auth('GET /transactions')`); a route missing here cannot be decorated, and the
 * OpenAPI test fails when a route's key is not its own method and path.
 *
 * A caller may use a route when its role (the owner's *current* role, for an API key) is listed
 * and, for an API key, the key holds the route's scope. What rows and fields it then sees is
 * decided by `access.ts`.
 */
export const SCOPES = [
  'transactions:read',
  'transactions:write',
  'dashboard:read',
  'users:read',
  'users:write',
  'audit:read',
  'webhooks:manage',
] as const;
export type Scope = (typeof SCOPES)[number];

export interface RoutePolicy {
  /** Roles admitted; empty for a public route (no authentication at all). */
  roles: readonly Role[];
  /** The scope an API key needs; null when keys are refused outright (403). */
  scope: Scope | null;
  /** A second scope that admits a key as well (either one suffices). */
  alsoScope?: Scope;
  /** Why keys are refused (`scope: null`), said in the 403 (jwt-auth.guard.ts) where it is not the obvious one. */
  keysRefused?: string;
  /** Said in the route's OpenAPI description and the docs/api.md table, for what the roles alone do not say. */
  note?: string;
}

const ALL = ROLES;
const READERS = ['admin', 'analyst', 'auditor'] as const;
const RECORDERS = ['admin', 'analyst'] as const;
const ADMIN = ['admin'] as const;
const ORG = ['admin', 'auditor'] as const;

const PERSONAL_DATA =
  'API keys never export personal data: an export is a copy of everything about a person, so it takes a signed-in session, not a machine credential that may have leaked';
const OWN_ROWS = 'analysts and viewers: own rows; auditors: all, notes masked';
const OWN_ACCOUNTS = 'analysts and viewers: own accounts; admins and auditors: all';
const OWN_BUDGETS = 'analysts and viewers: own budgets; admins and auditors: all';
const OWN_DATA =
  'analysts and viewers: own data; admins and auditors: the organisation or one user (`userId=`)';

export const ROUTES = {
  'POST /auth/login': { roles: [], scope: null },
  'POST /auth/refresh': { roles: [], scope: null },
  'POST /auth/logout': { roles: [], scope: null },
  'GET /auth/me': { roles: ALL, scope: null },
  'POST /auth/password': { roles: ALL, scope: null },

  'POST /api-keys': { roles: ALL, scope: null, note: 'for oneself; scopes the role can use' },
  'GET /api-keys': { roles: ALL, scope: null, note: 'own keys; admins anyone’s with `userId=`' },
  'GET /api-keys/{id}': { roles: ALL, scope: null, note: 'own keys; admins any' },
  'DELETE /api-keys/{id}': { roles: ALL, scope: null, note: 'own keys; admins any' },

  'POST /users': { roles: ADMIN, scope: 'users:write' },
  'GET /users': { roles: ORG, scope: 'users:read', note: 'auditors see emails masked' },
  'GET /users/{id}': {
    roles: ALL,
    scope: 'users:read',
    note: 'oneself; admins and auditors anyone',
  },
  'PATCH /users/{id}': { roles: ADMIN, scope: 'users:write' },
  'POST /users/{id}/export': {
    roles: ALL,
    scope: null,
    keysRefused: PERSONAL_DATA,
    note: 'oneself; admins anyone (auditors 403, others 404 for another user)',
  },
  'GET /exports/{id}': {
    roles: ALL,
    scope: null,
    keysRefused: PERSONAL_DATA,
    note: 'exports one asked for; admins any',
  },
  'GET /exports/{id}/download': {
    roles: ALL,
    scope: null,
    keysRefused: PERSONAL_DATA,
    note: 'exports one asked for; admins any',
  },
  'POST /users/{id}/erase': {
    roles: ADMIN,
    scope: null,
    note: 'not oneself; API keys refused (erasure is a human decision)',
    keysRefused: 'Erasure is a human decision: API keys cannot erase users; sign in instead',
  },

  'POST /transactions': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'own rows; admins for anyone (`ownerId`)',
  },
  'GET /transactions': { roles: ALL, scope: 'transactions:read', note: OWN_ROWS },
  'GET /transactions/{id}': { roles: ALL, scope: 'transactions:read', note: OWN_ROWS },
  'PATCH /transactions/{id}': { roles: ADMIN, scope: 'transactions:write' },
  'DELETE /transactions/{id}': { roles: ADMIN, scope: 'transactions:write' },
  'POST /transactions/{id}/restore': { roles: ADMIN, scope: 'transactions:write' },
  'POST /transactions/batch': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'each operation as its own route would judge it (an analyst’s update, delete or restore is a 403)',
  },
  'GET /transactions/export': { roles: ALL, scope: 'transactions:read', note: OWN_ROWS },
  'POST /transactions/import': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'own rows; admins for anyone (`ownerId`)',
  },

  'POST /accounts': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'own accounts; admins for anyone (`ownerId`)',
  },
  'GET /accounts': { roles: ALL, scope: 'transactions:read', note: OWN_ACCOUNTS },
  'GET /accounts/{id}': { roles: ALL, scope: 'transactions:read', note: OWN_ACCOUNTS },
  'GET /accounts/{id}/balance': { roles: ALL, scope: 'transactions:read', note: OWN_ACCOUNTS },
  'PATCH /accounts/{id}': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'analysts: own accounts; admins any',
  },
  'DELETE /accounts/{id}': { roles: ADMIN, scope: 'transactions:write' },

  'POST /transfers': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'analysts: between own accounts; admins between anyone’s (of one owner)',
  },
  'GET /transfers': { roles: ALL, scope: 'transactions:read', note: OWN_ROWS },
  'GET /transfers/{id}': { roles: ALL, scope: 'transactions:read', note: OWN_ROWS },
  'DELETE /transfers/{id}': { roles: ADMIN, scope: 'transactions:write' },
  'POST /transfers/{id}/restore': { roles: ADMIN, scope: 'transactions:write' },

  'POST /budgets': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'own budgets; admins for anyone (`ownerId`)',
  },
  'GET /budgets': { roles: ALL, scope: 'transactions:read', note: OWN_BUDGETS },
  'GET /budgets/{id}': { roles: ALL, scope: 'transactions:read', note: OWN_BUDGETS },
  'GET /budgets/{id}/status': {
    roles: ALL,
    scope: 'transactions:read',
    alsoScope: 'dashboard:read',
    note: OWN_BUDGETS,
  },
  'PATCH /budgets/{id}': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'analysts: own budgets; admins any',
  },
  'DELETE /budgets/{id}': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'analysts: own budgets; admins any',
  },

  'GET /currencies': { roles: ALL, scope: 'transactions:read', alsoScope: 'dashboard:read' },

  'GET /exchange-rates': { roles: ALL, scope: 'transactions:read', alsoScope: 'dashboard:read' },
  'PUT /exchange-rates/{base}/{quote}/{date}': { roles: ADMIN, scope: 'transactions:write' },
  'DELETE /exchange-rates/{base}/{quote}/{date}': { roles: ADMIN, scope: 'transactions:write' },
  'POST /exchange-rates/import': { roles: ADMIN, scope: 'transactions:write' },

  'GET /dashboard': { roles: ALL, scope: 'dashboard:read', note: `shaped by role; ${OWN_DATA}` },
  'GET /dashboard/summary': { roles: ALL, scope: 'dashboard:read', note: OWN_DATA },
  'GET /dashboard/recent': { roles: ALL, scope: 'dashboard:read', note: OWN_DATA },
  'GET /dashboard/categories': { roles: READERS, scope: 'dashboard:read', note: OWN_DATA },
  'GET /dashboard/trends': { roles: READERS, scope: 'dashboard:read', note: OWN_DATA },
  'GET /dashboard/forecast': { roles: READERS, scope: 'dashboard:read', note: OWN_DATA },

  'GET /imports/{id}': {
    roles: RECORDERS,
    scope: 'transactions:write',
    note: 'a background import’s progress: own imports; admins any',
  },

  'GET /events': {
    roles: ALL,
    scope: 'transactions:read',
    note: 'analysts and viewers: events about their own transactions, accounts and transfers; admins and auditors: all (auditors masked); a key sees user events only with `users:read`',
  },
  'POST /webhooks': {
    roles: ADMIN,
    scope: 'webhooks:manage',
    note: 'a key subscribes only to events it could read from the feed',
  },
  'GET /webhooks': { roles: ADMIN, scope: 'webhooks:manage' },
  'GET /webhooks/{id}': { roles: ADMIN, scope: 'webhooks:manage' },
  'PATCH /webhooks/{id}': {
    roles: ADMIN,
    scope: 'webhooks:manage',
    note: 'a key subscribes only to events it could read from the feed',
  },
  'DELETE /webhooks/{id}': { roles: ADMIN, scope: 'webhooks:manage' },
  'POST /webhooks/{id}/rotate-secret': { roles: ADMIN, scope: 'webhooks:manage' },
  'POST /webhooks/{id}/ping': { roles: ADMIN, scope: 'webhooks:manage' },
  'GET /webhooks/{id}/deliveries': { roles: ADMIN, scope: 'webhooks:manage' },
  'POST /webhooks/{id}/deliveries/{deliveryId}/retry': { roles: ADMIN, scope: 'webhooks:manage' },

  'GET /audit-logs': {
    roles: ORG,
    scope: 'audit:read',
    note: 'auditors see changed notes and emails masked',
  },
} as const satisfies Record<string, RoutePolicy>;

export type RouteKey = keyof typeof ROUTES;

export const policyOf = (route: RouteKey): RoutePolicy => ROUTES[route];

/** The scopes any one of which admits an API key to the route; none when keys are refused. */
export const keyScopesOf = (policy: RoutePolicy): Scope[] =>
  policy.scope === null ? [] : [policy.scope, ...(policy.alsoScope ? [policy.alsoScope] : [])];

/**
 * Why `role` (calling with a key holding `keyScopes`, or without a key) may not use a route, or
 * undefined when it may: the roles guard answers 403 with it, and a batch judges each of its
 * operations by the single route's policy through it.
 */
export function refusal(
  policy: RoutePolicy,
  role: Role,
  keyScopes?: readonly Scope[],
): string | undefined {
  if (policy.roles.length > 0 && !policy.roles.includes(role))
    return 'Your role may not perform this action';
  if (keyScopes === undefined) return undefined;
  const scopes = keyScopesOf(policy);
  if (scopes.some((s) => keyScopes.includes(s))) return undefined;
  return scopes.length === 0
    ? (policy.keysRefused ?? 'API keys cannot be used on this route')
    : `This API key lacks the scope ${scopes.join(' or ')}`;
}

/** `transactions:read` or `transactions:read` / `dashboard:read`, as the docs print it. */
export const describeScopes = (policy: RoutePolicy): string =>
  keyScopesOf(policy)
    .map((s) => `\`${s}\``)
    .join(' or ');

/** The scopes a role can use anywhere: what a key of a user with that role may be given. */
export function scopesOf(role: Role): Scope[] {
  const usable = new Set<Scope>();
  for (const policy of Object.values(ROUTES) as RoutePolicy[]) {
    if (policy.roles.includes(role)) for (const s of keyScopesOf(policy)) usable.add(s);
  }
  return SCOPES.filter((s) => usable.has(s));
}
