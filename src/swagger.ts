import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type HeaderObject,
  type OpenAPIObject,
  type ReferenceObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { describeScopes, policyOf, type RouteKey } from './common/permissions';

const DESCRIPTION = `
Finance records with role-based access.

* **Auth**: \`POST /api/v1/auth/login\` returns a short-lived JWT access token and a single-use refresh token.
* **Roles**: \`admin\` manages users and all records; \`analyst\` records transactions and reads insights; \`viewer\` reads own records and summary; \`auditor\` reads the whole organisation (transactions, dashboards, users, audit log) and writes nothing.
* **API keys**: \`Authorization: Bearer fin_…\` works on every route that names a scope (see each operation's *Access* line); a key may do what its scopes **and** its owner's current role allow. Keys are refused (403) on \`/auth/*\` and \`/api-keys\`.
* **Field masking**: auditors see other people's transaction \`notes\` as \`"[masked]"\` (when not empty) and user emails as \`a***@example.com\`, in JSON bodies, the CSV export and audit-log changes; their search (\`q\`) then matches categories only. Admins see everything; the other roles only ever see their own data.
* **Errors** are RFC 9457 \`application/problem+json\` bodies with a \`requestId\`; validation errors list every field in \`errors\`.
* **Money** is a decimal string with two decimals (\`"1234.50"\`), never a float.
* **Unknown** body fields and query parameters are rejected with 400; a repeated query parameter too.
* **Rate limits**: per user (per IP when anonymous), plus stricter limits on login. Responses carry \`RateLimit-Limit\`, \`RateLimit-Remaining\` and \`RateLimit-Reset\` (seconds) for the caller's bucket closest to exhaustion; a 429 also carries \`Retry-After\`. A body refused before routing (413, 415, malformed JSON) is not counted and carries none.
* **Busy**: any route may answer 503 with \`Retry-After\` when no database connection comes free within \`DB_POOL_TIMEOUT_MS\` or a query runs past its timeout; retrying later is safe (use \`Idempotency-Key\` on creates and imports).
`.trim();

/**
 * operationIds are the names a generated client exposes, so they are part of the public contract:
 * verb + resource in camelCase, listed here rather than derived from method names so that renaming
 * a controller method never renames a client function. A route missing here stops the document
 * from being built (every e2e test fails at once), so none ships unnamed.
 */
const OPERATION_IDS: Record<string, string> = {
  'AuthController.login': 'login',
  'AuthController.refresh': 'refreshTokens',
  'AuthController.logout': 'logout',
  'AuthController.me': 'getCurrentUser',
  'AuthController.changePassword': 'changePassword',
  'CurrenciesController.list': 'listCurrencies',
  'ExchangeRatesController.list': 'listExchangeRates',
  'ExchangeRatesController.set': 'setExchangeRate',
  'ExchangeRatesController.remove': 'deleteExchangeRate',
  'ExchangeRatesController.import': 'importExchangeRates',
  'UsersController.create': 'createUser',
  'UsersController.list': 'listUsers',
  'UsersController.get': 'getUser',
  'UsersController.update': 'updateUser',
  'ErasureController.erase': 'eraseUser',
  'TransactionsController.create': 'createTransaction',
  'TransactionsController.list': 'listTransactions',
  'TransactionsController.get': 'getTransaction',
  'TransactionsController.update': 'updateTransaction',
  'TransactionsController.remove': 'deleteTransaction',
  'TransactionsController.restore': 'restoreTransaction',
  'TransactionBatchController.run': 'batchTransactions',
  'TransactionsCsvController.export': 'exportTransactions',
  'TransactionsCsvController.import': 'importTransactions',
  'AccountsController.create': 'createAccount',
  'AccountsController.list': 'listAccounts',
  'AccountsController.get': 'getAccount',
  'AccountsController.balance': 'getAccountBalance',
  'AccountsController.update': 'updateAccount',
  'AccountsController.remove': 'deleteAccount',
  'BudgetsController.create': 'createBudget',
  'BudgetsController.list': 'listBudgets',
  'BudgetsController.get': 'getBudget',
  'BudgetsController.status': 'getBudgetStatus',
  'BudgetsController.update': 'updateBudget',
  'BudgetsController.remove': 'deleteBudget',
  'TransfersController.create': 'createTransfer',
  'TransfersController.list': 'listTransfers',
  'TransfersController.get': 'getTransfer',
  'TransfersController.remove': 'deleteTransfer',
  'TransfersController.restore': 'restoreTransfer',
  'DashboardController.overview': 'getDashboard',
  'DashboardController.summary': 'getDashboardSummary',
  'DashboardController.recent': 'getRecentTransactions',
  'DashboardController.categories': 'getCategoryTotals',
  'DashboardController.trends': 'getTrends',
  'DashboardController.forecast': 'getForecast',
  'AuditController.list': 'listAuditLogs',
  'ApiKeysController.create': 'createApiKey',
  'ApiKeysController.list': 'listApiKeys',
  'ApiKeysController.get': 'getApiKey',
  'ApiKeysController.revoke': 'revokeApiKey',
  'EventsController.list': 'listEvents',
  'ImportsController.get': 'getImport',
  'ExportsController.request': 'requestUserExport',
  'ExportsController.get': 'getExport',
  'ExportsController.download': 'downloadExport',
  'WebhooksController.create': 'createWebhook',
  'WebhooksController.list': 'listWebhooks',
  'WebhooksController.get': 'getWebhook',
  'WebhooksController.update': 'updateWebhook',
  'WebhooksController.remove': 'deleteWebhook',
  'WebhooksController.rotateSecret': 'rotateWebhookSecret',
  'WebhooksController.ping': 'pingWebhook',
  'WebhooksController.deliveries': 'listWebhookDeliveries',
  'WebhooksController.retry': 'retryWebhookDelivery',
};

function operationId(controllerKey: string, methodKey: string): string {
  const id = OPERATION_IDS[`${controllerKey}.${methodKey}`];
  if (!id)
    throw new Error(`No operationId for ${controllerKey}.${methodKey}: add one in swagger.ts`);
  return id;
}

const PROBLEM = { schema: { $ref: '#/components/schemas/ProblemResponse' } };
const count = (description: string): HeaderObject => ({
  description,
  schema: { type: 'integer', minimum: 0 },
});
/** docs/api.md section 7. The throttler guard sets them on every response of every operation. */
const RATE_LIMIT_HEADERS: Record<string, HeaderObject> = {
  'RateLimit-Limit': count(
    "Requests allowed per window in the caller's bucket closest to exhaustion (login counts against three)",
  ),
  'RateLimit-Remaining': count('Requests left in that window'),
  'RateLimit-Reset': count('Seconds until that window resets'),
};
const RETRY_AFTER: HeaderObject = count('Seconds to wait before retrying');
const headerRef = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });

type Operation = {
  description?: string;
  security?: Record<string, string[]>[];
  'x-route'?: RouteKey;
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, ResponseObject>;
};

/**
 * What the decorators cannot say, applied to the whole document in one place:
 * - error bodies are `application/problem+json` (the one exception filter sends every one of them),
 *   whatever the operation produces when it succeeds (CSV for the export);
 * - every operation refuses an unknown query parameter (400), whether or not it takes any;
 * - every operation is rate limited (429 with `Retry-After`), may be busy (503 with
 *   `Retry-After`) or fail unexpectedly (500, no details but the `requestId`), and its responses
 *   carry the rate-limit headers;
 * - a JSON body is refused with 413 or 415 by the body middleware, before routing and so before
 *   the rate limiter (those two carry no rate-limit headers);
 * - the plugin wraps each enum reference in a one-member `allOf`, which says nothing more than the
 *   reference itself (Redocly's `no-illogical-composition-keywords`).
 */
export function finishDocument(document: OpenAPIObject): OpenAPIObject {
  document.components = {
    ...document.components,
    headers: { ...RATE_LIMIT_HEADERS, 'Retry-After': RETRY_AFTER },
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Operation[]) {
      describeAccess(operation);
      const responses = operation.responses;
      if (!responses) continue;
      // Every operation refuses query parameters it does not take (common/validation.ts).
      responses['400'] ??= { description: 'An unknown query parameter; `errors` names it' };
      responses['429'] ??= { description: 'Rate limit exceeded; see `Retry-After`' };
      responses['503'] ??= {
        description: 'Busy: no database connection came free in time, or a query timed out',
      };
      responses['500'] ??= {
        description: 'Unexpected error (e.g. the database is unreachable); quote `requestId`',
      };
      for (const [status, response] of Object.entries(responses)) {
        const headers: Record<string, ReferenceObject> = Object.fromEntries(
          Object.keys(RATE_LIMIT_HEADERS).map((name) => [name, headerRef(name)]),
        );
        if (status === '429' || status === '503') headers['Retry-After'] = headerRef('Retry-After');
        response.headers = { ...response.headers, ...headers };
      }
      if (operation.requestBody?.content?.['application/json']) {
        responses['413'] ??= { description: 'The JSON body exceeds 1 MiB' };
        responses['415'] ??= { description: 'The body is not `application/json`' };
      }
      for (const [status, response] of Object.entries(responses)) {
        // A route may declare a problem of its own shape (the batch's errors); the rest share one.
        if (Number(status) >= 400)
          response.content = {
            'application/problem+json': {
              schema: response.content?.['application/json']?.schema ?? PROBLEM.schema,
            },
          };
      }
    }
  }
  return unwrapSingleAllOf(document) as OpenAPIObject;
}

/** The operation's line of the permission table (permissions.ts): who may call it, and with which key scope. */
function describeAccess(operation: Operation): void {
  const route = operation['x-route'];
  if (route === undefined) return;
  const policy = policyOf(route);
  if (policy.roles.length === 0) {
    const keys = policy.scope === null ? ' An API key sent here is refused (403).' : '';
    operation.description = [operation.description, `**Access**: public.${keys}`]
      .filter(Boolean)
      .join('\n\n');
    return;
  }
  const roles = policy.roles.map((r) => `\`${r}\``).join(', ');
  const key =
    policy.scope === null
      ? 'API keys are refused (403).'
      : `API key scope: ${describeScopes(policy)}.`;
  const note = policy.note ? ` ${policy.note.charAt(0).toUpperCase()}${policy.note.slice(1)}.` : '';
  operation.description = [operation.description, `**Access**: roles ${roles}. ${key}${note}`]
    .filter(Boolean)
    .join('\n\n');
  operation.security = policy.scope === null ? [{ bearer: [] }] : [{ bearer: [] }, { apiKey: [] }];
}

function unwrapSingleAllOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(unwrapSingleAllOf);
  if (node === null || typeof node !== 'object') return node;
  const object = Object.fromEntries(
    Object.entries(node).map(([key, value]: [string, unknown]) => [key, unwrapSingleAllOf(value)]),
  ) as Record<string, unknown>;
  const { allOf, ...rest } = object;
  const single = Array.isArray(allOf) && allOf.length === 1 && Object.keys(rest).length === 0;
  return single ? (allOf[0] as unknown) : object;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Finance Data Processing API')
    .setDescription(DESCRIPTION)
    .setVersion('1.0.0')
    .setLicense('UNLICENSED', 'https://example.com/license')
    .addServer('/', 'This server')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'Access token from `POST /auth/login`',
      },
      'bearer',
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'fin_…',
        description:
          'API key from `POST /api-keys` (`fin_` + 43 characters); see each operation for its scope',
      },
      'apiKey',
    )
    .build();
  return finishDocument(
    SwaggerModule.createDocument(app, config, { operationIdFactory: operationId }),
  );
}

export function setupSwagger(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Finance API docs',
  });
}
