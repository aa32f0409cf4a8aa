import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { isCurrencyCode } from '../common/currencies';
import { PASSWORD_RULE, passwordFits } from '../common/password-rule';
import {
  bool,
  duration,
  int,
  isOrigin,
  list,
  optionalString,
  postgresUrl,
  trustProxy,
} from './env-parsers';

/** A setting: the environment variable it is read from and how it is parsed, checked and defaulted. */
class Setting<S extends z.ZodType = z.ZodType> {
  constructor(
    readonly env: string,
    readonly schema: S,
  ) {}
}
const from = <S extends z.ZodType>(env: string, schema: S) => new Setting(env, schema);

/**
 * Every setting, declared once: the configuration's field (nested in a group or not), its
 * variable, and its parser with the default and the validation rule. Errors name the variables
 * in this order.
 */
const SETTINGS = {
  env: from('NODE_ENV', z.enum(['development', 'production', 'test']).default('development')),
  port: from('PORT', int(3000, 0, 65535)),
  /** The address to listen on; unset: every interface. */
  host: from(
    'HOST',
    optionalString.pipe(
      z
        .string()
        .refine(
          (h) => isIP(h) !== 0 || /^[A-Za-z0-9.-]{1,253}$/.test(h),
          'must be an address or a host name',
        )
        .optional(),
    ),
  ),
  databaseUrl: from('DATABASE_URL', optionalString.pipe(postgresUrl().optional())),
  /**
   * A real session to the same database for what a transaction-pooling PgBouncer cannot carry:
   * the migration lock and LISTEN. Unset: DATABASE_URL (or the embedded server).
   */
  databaseDirectUrl: from('DATABASE_DIRECT_URL', optionalString.pipe(postgresUrl().optional())),
  /**
   * Streaming replicas that read-only routes may read from (database/read-routing.ts); empty:
   * every read goes to DATABASE_URL.
   */
  databaseReplicaUrls: from(
    'DATABASE_REPLICA_URL',
    list((urls) => {
      const bad = urls.filter((u) => !postgresUrl().safeParse(u).success);
      if (bad.length === 0 && urls.length > 0) return undefined;
      // Never echo the entries: they may carry passwords.
      return `expected comma-separated postgres:// URLs; ${bad.length || 'no'} entr${bad.length === 1 ? 'y is' : 'ies are'} not one`;
    }),
  ),
  /** A replica further behind the primary than this is skipped until it catches up. */
  replicaMaxLagMs: from('REPLICA_MAX_LAG_MS', int(5_000, 0, 3_600_000)),
  migrationsRun: from('MIGRATIONS_RUN', bool(true)),
  /** An absolute path. */
  dataDir: from(
    'DATA_DIR',
    z
      .string()
      .min(1)
      .default('./.data')
      .transform((dir) => resolve(dir)),
  ),
  /** Unset outside production: generated once and kept in DATA_DIR (fromEnv). */
  jwtSecret: from(
    'JWT_SECRET',
    optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  ),
  jwtAccessTtl: from('JWT_ACCESS_TTL', duration('15m')),
  jwtRefreshTtl: from('JWT_REFRESH_TTL', duration('7d')),
  bcryptRounds: from('BCRYPT_ROUNDS', int(12, 4, 15)),
  /** Lower-cased. */
  adminEmail: from(
    'ADMIN_EMAIL',
    optionalString.pipe(z.email().optional()).transform((v) => v?.toLowerCase()),
  ),
  adminPassword: from(
    'ADMIN_PASSWORD',
    optionalString.pipe(
      z
        .string()
        .refine(passwordFits, { message: `must be ${PASSWORD_RULE}` })
        .optional(),
    ),
  ),
  throttle: {
    ttl: from('THROTTLE_TTL', int(60, 1, 86400)),
    limit: from('THROTTLE_LIMIT', int(300, 1, 1_000_000)),
    loginLimit: from('THROTTLE_LOGIN_LIMIT', int(5, 1, 1_000_000)),
    loginIpLimit: from('THROTTLE_LOGIN_IP_LIMIT', int(30, 1, 1_000_000)),
  },
  redisUrl: from('REDIS_URL', optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional())),
  trustProxy: from('TRUST_PROXY', trustProxy),
  logLevel: from(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  corsOrigins: from(
    'CORS_ORIGINS',
    list((origins) => {
      if (origins.includes('*')) return 'list the allowed origins; "*" is not accepted';
      const bad = origins.filter((o) => !isOrigin(o));
      if (bad.length === 0) return undefined;
      return `each entry must be an origin like https://app.example.com (no path or trailing slash); not ${bad.join(', ')}`;
    }),
  ),
  importMaxBytes: from('IMPORT_MAX_BYTES', int(20 * 1024 * 1024, 1, 1024 * 1024 * 1024)),
  docsEnabled: from('DOCS_ENABLED', bool(true)),
  /** Serve the read-only web dashboard at `/` (src/web; built from web/ by `npm run build`). */
  uiEnabled: from('UI_ENABLED', bool(true)),
  dbPoolMax: from('DB_POOL_MAX', int(10, 1, 200)),
  dbStatementTimeoutMs: from('DB_STATEMENT_TIMEOUT_MS', int(15_000, 100, 600_000)),
  dbPoolTimeoutMs: from('DB_POOL_TIMEOUT_MS', int(5_000, 1, 600_000)),
  /** Seconds after which an unfinished Idempotency-Key claim may be taken over by a retry. */
  idempotencyLease: from('IDEMPOTENCY_LEASE', duration('60s')),
  importConcurrency: from('IMPORT_CONCURRENCY', int(2, 1, 100)),
  csvIdleTimeoutMs: from('CSV_IDLE_TIMEOUT_MS', int(30_000, 100, 600_000)),
  /**
   * On SIGTERM, how long readiness answers 503 while requests are still served, before the
   * server closes: longer than the load balancer takes to stop sending (docs/operations.md).
   */
  shutdownDrainMs: from('SHUTDOWN_DRAIN_MS', int(0, 0, 120_000)),
  /** Seconds an event stays in the feed (and can be delivered) before the purge removes it. */
  eventRetention: from('EVENT_RETENTION', duration('30d')),
  /** Days a soft-deleted transaction or transfer stays restorable before the purge; 0: forever. */
  trashRetentionDays: from('TRASH_RETENTION_DAYS', int(30, 0, 36_500)),
  /**
   * The job queue: how often expired jobs (of a crashed instance) are re-queued, in seconds, and
   * how long SIGTERM waits for running jobs before handing them back.
   */
  jobs: {
    maintenanceIntervalSeconds: from('JOBS_MAINTENANCE_INTERVAL', duration('60s')),
    shutdownTimeoutMs: from('JOBS_SHUTDOWN_TIMEOUT_MS', int(15_000, 1_000, 600_000)),
  },
  /**
   * Webhook delivery: `http` URLs only when allowHttp; hosts whose addresses may be private or
   * loopback; the per-attempt timeout; the retry schedule (base and cap of the exponential
   * backoff, in ms) and the window (seconds) after which a delivery gives up and an endpoint
   * failing all along is disabled; deliveries per instance at once; how often the outbox is read.
   */
  webhooks: {
    allowHttp: from('WEBHOOK_ALLOW_HTTP', bool(false)),
    /** Lower-cased, IPv6 brackets dropped. */
    allowedHosts: from(
      'WEBHOOK_ALLOWED_HOSTS',
      list(
        (hosts) => {
          const bad = hosts.filter((h) => isIP(h) === 0 && !/^[a-z0-9.-]{1,253}$/.test(h));
          if (bad.length === 0) return undefined;
          return `each entry must be a host name or an IP address; not ${bad.join(', ')}`;
        },
        (host) => host.toLowerCase().replace(/^\[(.*)\]$/, '$1'),
      ),
    ),
    timeoutMs: from('WEBHOOK_TIMEOUT_MS', int(10_000, 100, 60_000)),
    retryBaseMs: from('WEBHOOK_RETRY_BASE_MS', int(5_000, 10, 3_600_000)),
    retryMaxMs: from('WEBHOOK_RETRY_MAX_MS', int(2 * 3_600_000, 10, 24 * 3_600_000)),
    retryWindowSeconds: from('WEBHOOK_RETRY_WINDOW', duration('24h')),
    concurrency: from('WEBHOOK_CONCURRENCY', int(4, 1, 64)),
    dispatchIntervalMs: from('WEBHOOK_DISPATCH_INTERVAL_MS', int(250, 10, 60_000)),
  },
  reportTimeZone: from(
    'REPORT_TIME_ZONE',
    z
      .string()
      .default('UTC')
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone such as UTC or Europe/Berlin'),
  ),
  /** Currency of rows from before currencies, of a create without one, and of dashboards by default. */
  baseCurrency: from(
    'BASE_CURRENCY',
    z
      .string()
      .default('USD')
      .refine(
        isCurrencyCode,
        'must be an upper-case ISO 4217 code with 0-3 minor units, such as USD',
      ),
  ),
  /** How many days older than a transaction a rate may be and still apply to it (inclusive). */
  fxMaxAgeDays: from('FX_MAX_AGE_DAYS', int(7, 0, 3650)),
};

interface Settings {
  readonly [field: string]: Setting | Settings;
}

/** The parsed values of `T`, in the shape of `T` (documentation comments carry over). */
type Values<T> = {
  readonly [K in keyof T]: T[K] extends Setting<infer S> ? z.output<S> : Values<T[K]>;
};

const settingsOf = (group: Settings): Setting[] =>
  Object.values(group).flatMap((s) => (s instanceof Setting ? [s] : settingsOf(s)));

function valuesOf<T extends Settings>(group: T, env: Record<string, unknown>): Values<T> {
  const entries = Object.entries(group).map(([field, s]) => [
    field,
    s instanceof Setting ? env[s.env] : valuesOf(s, env),
  ]);
  return Object.fromEntries(entries) as Values<T>;
}

const schema = z
  .object(Object.fromEntries(settingsOf(SETTINGS).map((s) => [s.env, s.schema])))
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'is required when NODE_ENV=production',
      });
    }
  });

export class ConfigError extends Error {}

/** The configuration's fields: SETTINGS' values, with the secret always there. */
type ConfigFields = Omit<Values<typeof SETTINGS>, 'jwtSecret'> & {
  readonly jwtSecret: string;
  /**
   * The same secret as a KeyObject. jsonwebtoken, handed a string, first tries to parse it as a
   * public key (and fails) on every verify: about 1 ms of CPU per request, 30x the HMAC itself.
   */
  readonly jwtKey: KeyObject;
};

const Fields = class {
  constructor(fields: ConfigFields) {
    Object.assign(this, fields);
  }
} as new (fields: ConfigFields) => ConfigFields;

/**
 * The validated configuration, injected by class. Nothing outside this file reads process.env,
 * so every setting has one name, one default and one validation rule (SETTINGS).
 */
export class AppConfig extends Fields {
  static fromEnv(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const parsed = schema.safeParse(source);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
      throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
    }
    const values = valuesOf(SETTINGS, parsed.data);
    const jwtSecret = values.jwtSecret ?? persistentDevSecret(values.dataDir);
    const jwtKey = createSecretKey(Buffer.from(jwtSecret, 'utf8'));
    return new AppConfig({ ...values, jwtSecret, jwtKey });
  }
}

/** Outside production a missing JWT_SECRET is generated once and kept, so restarts keep sessions. */
function persistentDevSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
