import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { isCurrencyCode } from '../common/currencies';
import { PASSWORD_RULE, passwordFits } from '../common/password-rule';

/** Accepts `900`, `900s`, `15m`, `12h`, `7d`; returns seconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration like 900, 15m, 12h or 7d' });
        return z.NEVER;
      }
      const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[
        match[2] as '' | 's' | 'm' | 'h' | 'd'
      ];
      return Number(match[1]) * unit;
    })
    .pipe(z.number().int().positive());

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** `10.0.0.1` or `10.0.0.0/8` (IPv4 or IPv6). */
function isAddressOrSubnet(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return (
    bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
  );
}

/**
 * Fastify's `trustProxy` (proxy-addr, as Express's `trust proxy`): `true`/`false`, a hop count, or
 * a list of addresses, subnets and the names loopback/linklocal/uniquelocal. Passed through as a
 * string, `true` would be taken for an address and `1` would mean the address 0.0.0.1, not one hop.
 */
const trustProxy = optionalString.transform((value, ctx) => {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d{1,3}$/.test(value)) return Number(value);
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const bad = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => !named.has(item) && !isAddressOrSubnet(item));
  if (bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected true, false, a hop count, or addresses, subnets, loopback, linklocal or uniquelocal; not ${bad.join(', ')}`,
    });
    return z.NEVER;
  }
  return value;
});

/** A browser's Origin header is exactly `scheme://host[:port]`; anything else would never match. */
const isOrigin = (value: string): boolean => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
};

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: int(3000, 0, 65535),
    HOST: optionalString.pipe(
      z
        .string()
        .refine(
          (h) => isIP(h) !== 0 || /^[A-Za-z0-9.-]{1,253}$/.test(h),
          'must be an address or a host name',
        )
        .optional(),
    ),
    DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    DATABASE_DIRECT_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    DATABASE_REPLICA_URL: optionalString.transform((v, ctx) => {
      if (v === undefined) return [];
      const urls = v
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      const bad = urls.filter((u) => !z.url({ protocol: /^postgres(ql)?$/ }).safeParse(u).success);
      if (bad.length > 0 || urls.length === 0) {
        ctx.addIssue({
          code: 'custom',
          // Never echo the entries: they may carry passwords.
          message: `expected comma-separated postgres:// URLs; ${bad.length || 'no'} entr${bad.length === 1 ? 'y is' : 'ies are'} not one`,
        });
        return z.NEVER;
      }
      return urls;
    }),
    REPLICA_MAX_LAG_MS: int(5_000, 0, 3_600_000),
    MIGRATIONS_RUN: bool(true),
    DATA_DIR: z.string().min(1).default('./.data'),
    JWT_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    JWT_ACCESS_TTL: duration('15m'),
    JWT_REFRESH_TTL: duration('7d'),
    BCRYPT_ROUNDS: int(12, 4, 15),
    ADMIN_EMAIL: optionalString.pipe(z.email().optional()),
    ADMIN_PASSWORD: optionalString.pipe(
      z
        .string()
        .refine(passwordFits, { message: `must be ${PASSWORD_RULE}` })
        .optional(),
    ),
    THROTTLE_TTL: int(60, 1, 86400),
    THROTTLE_LIMIT: int(300, 1, 1_000_000),
    THROTTLE_LOGIN_LIMIT: int(5, 1, 1_000_000),
    THROTTLE_LOGIN_IP_LIMIT: int(30, 1, 1_000_000),
    REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
    TRUST_PROXY: trustProxy,
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    CORS_ORIGINS: optionalString.transform((v, ctx) => {
      if (v === undefined) return [];
      const origins = v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
      if (origins.includes('*')) {
        ctx.addIssue({ code: 'custom', message: 'list the allowed origins; "*" is not accepted' });
        return z.NEVER;
      }
      const bad = origins.filter((o) => !isOrigin(o));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `each entry must be an origin like https://app.example.com (no path or trailing slash); not ${bad.join(', ')}`,
        });
        return z.NEVER;
      }
      return origins;
    }),
    IMPORT_MAX_BYTES: int(20 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    DOCS_ENABLED: bool(true),
    DB_POOL_MAX: int(10, 1, 200),
    DB_STATEMENT_TIMEOUT_MS: int(15_000, 100, 600_000),
    DB_POOL_TIMEOUT_MS: int(5_000, 1, 600_000),
    IDEMPOTENCY_LEASE: duration('60s'),
    IMPORT_CONCURRENCY: int(2, 1, 100),
    CSV_IDLE_TIMEOUT_MS: int(30_000, 100, 600_000),
    SHUTDOWN_DRAIN_MS: int(0, 0, 120_000),
    EVENT_RETENTION: duration('30d'),
    JOBS_MAINTENANCE_INTERVAL: duration('60s'),
    JOBS_SHUTDOWN_TIMEOUT_MS: int(15_000, 1_000, 600_000),
    WEBHOOK_ALLOW_HTTP: bool(false),
    WEBHOOK_ALLOWED_HOSTS: optionalString.transform((v, ctx) => {
      if (v === undefined) return [];
      const hosts = v
        .split(',')
        .map((h) =>
          h
            .trim()
            .toLowerCase()
            .replace(/^\[(.*)\]$/, '$1'),
        )
        .filter(Boolean);
      const bad = hosts.filter((h) => isIP(h) === 0 && !/^[a-z0-9.-]{1,253}$/.test(h));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `each entry must be a host name or an IP address; not ${bad.join(', ')}`,
        });
        return z.NEVER;
      }
      return hosts;
    }),
    WEBHOOK_TIMEOUT_MS: int(10_000, 100, 60_000),
    WEBHOOK_RETRY_BASE_MS: int(5_000, 10, 3_600_000),
    WEBHOOK_RETRY_MAX_MS: int(2 * 3_600_000, 10, 24 * 3_600_000),
    WEBHOOK_RETRY_WINDOW: duration('24h'),
    WEBHOOK_CONCURRENCY: int(4, 1, 64),
    WEBHOOK_DISPATCH_INTERVAL_MS: int(250, 10, 60_000),
    REPORT_TIME_ZONE: z
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
    BASE_CURRENCY: z
      .string()
      .default('USD')
      .refine(
        isCurrencyCode,
        'must be an upper-case ISO 4217 code with 0-3 minor units, such as USD',
      ),
    FX_MAX_AGE_DAYS: int(7, 0, 3650),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'is required when NODE_ENV=production',
      });
    }
  });

export type Env = z.output<typeof schema>;

export class ConfigError extends Error {}

/**
 * The validated configuration, injected by class. Nothing outside this file reads process.env,
 * so every setting has one name, one default and one validation rule.
 */
export class AppConfig {
  readonly env!: Env['NODE_ENV'];
  readonly port!: number;
  /** The address to listen on; unset: every interface. */
  readonly host?: string;
  readonly databaseUrl?: string;
  /**
   * A real session to the same database for what a transaction-pooling PgBouncer cannot carry:
   * the migration lock and LISTEN. Unset: DATABASE_URL (or the embedded server).
   */
  readonly databaseDirectUrl?: string;
  /**
   * Streaming replicas that read-only routes may read from (database/read-routing.ts); empty:
   * every read goes to DATABASE_URL.
   */
  readonly databaseReplicaUrls!: string[];
  /** A replica further behind the primary than this is skipped until it catches up. */
  readonly replicaMaxLagMs!: number;
  readonly migrationsRun!: boolean;
  readonly dataDir!: string;
  readonly jwtSecret!: string;
  /**
   * The same secret as a KeyObject. jsonwebtoken, handed a string, first tries to parse it as a
   * public key (and fails) on every verify: about 1 ms of CPU per request, 30x the HMAC itself.
   */
  readonly jwtKey!: KeyObject;
  readonly jwtAccessTtl!: number;
  readonly jwtRefreshTtl!: number;
  readonly bcryptRounds!: number;
  readonly adminEmail?: string;
  readonly adminPassword?: string;
  readonly throttle!: { ttl: number; limit: number; loginLimit: number; loginIpLimit: number };
  readonly redisUrl?: string;
  readonly trustProxy?: boolean | number | string;
  readonly logLevel!: Env['LOG_LEVEL'];
  readonly corsOrigins!: string[];
  readonly importMaxBytes!: number;
  readonly docsEnabled!: boolean;
  readonly dbPoolMax!: number;
  readonly dbStatementTimeoutMs!: number;
  readonly dbPoolTimeoutMs!: number;
  /** Seconds after which an unfinished Idempotency-Key claim may be taken over by a retry. */
  readonly idempotencyLease!: number;
  readonly importConcurrency!: number;
  readonly csvIdleTimeoutMs!: number;
  /**
   * On SIGTERM, how long readiness answers 503 while requests are still served, before the
   * server closes: longer than the load balancer takes to stop sending (docs/operations.md).
   */
  readonly shutdownDrainMs!: number;
  /** Seconds an event stays in the feed (and can be delivered) before the purge removes it. */
  readonly eventRetention!: number;
  /**
   * The job queue: how often expired jobs (of a crashed instance) are re-queued, in seconds, and
   * how long SIGTERM waits for running jobs before handing them back.
   */
  readonly jobs!: { maintenanceIntervalSeconds: number; shutdownTimeoutMs: number };
  /**
   * Webhook delivery: `http` URLs only when allowHttp; hosts whose addresses may be private or
   * loopback; the per-attempt timeout; the retry schedule (base and cap of the exponential
   * backoff, in ms) and the window (seconds) after which a delivery gives up and an endpoint
   * failing all along is disabled; deliveries per instance at once; how often the outbox is read.
   */
  readonly webhooks!: {
    allowHttp: boolean;
    allowedHosts: string[];
    timeoutMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    retryWindowSeconds: number;
    concurrency: number;
    dispatchIntervalMs: number;
  };
  readonly reportTimeZone!: string;
  /** Currency of rows from before currencies, of a create without one, and of dashboards by default. */
  readonly baseCurrency!: string;
  /** How many days older than a transaction a rate may be and still apply to it (inclusive). */
  readonly fxMaxAgeDays!: number;

  static fromEnv(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const parsed = schema.safeParse(source);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
      throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
    }
    const e = parsed.data;
    const dataDir = resolve(e.DATA_DIR);
    const jwtSecret = e.JWT_SECRET ?? persistentDevSecret(dataDir);
    return Object.assign(new AppConfig(), {
      env: e.NODE_ENV,
      port: e.PORT,
      host: e.HOST,
      databaseUrl: e.DATABASE_URL,
      databaseDirectUrl: e.DATABASE_DIRECT_URL,
      databaseReplicaUrls: e.DATABASE_REPLICA_URL,
      replicaMaxLagMs: e.REPLICA_MAX_LAG_MS,
      migrationsRun: e.MIGRATIONS_RUN,
      dataDir,
      jwtSecret,
      jwtKey: createSecretKey(Buffer.from(jwtSecret, 'utf8')),
      jwtAccessTtl: e.JWT_ACCESS_TTL,
      jwtRefreshTtl: e.JWT_REFRESH_TTL,
      bcryptRounds: e.BCRYPT_ROUNDS,
      adminEmail: e.ADMIN_EMAIL?.toLowerCase(),
      adminPassword: e.ADMIN_PASSWORD,
      throttle: {
        ttl: e.THROTTLE_TTL,
        limit: e.THROTTLE_LIMIT,
        loginLimit: e.THROTTLE_LOGIN_LIMIT,
        loginIpLimit: e.THROTTLE_LOGIN_IP_LIMIT,
      },
      redisUrl: e.REDIS_URL,
      trustProxy: e.TRUST_PROXY,
      logLevel: e.LOG_LEVEL,
      corsOrigins: e.CORS_ORIGINS,
      importMaxBytes: e.IMPORT_MAX_BYTES,
      docsEnabled: e.DOCS_ENABLED,
      dbPoolMax: e.DB_POOL_MAX,
      dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      dbPoolTimeoutMs: e.DB_POOL_TIMEOUT_MS,
      idempotencyLease: e.IDEMPOTENCY_LEASE,
      importConcurrency: e.IMPORT_CONCURRENCY,
      csvIdleTimeoutMs: e.CSV_IDLE_TIMEOUT_MS,
      shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
      eventRetention: e.EVENT_RETENTION,
      jobs: {
        maintenanceIntervalSeconds: e.JOBS_MAINTENANCE_INTERVAL,
        shutdownTimeoutMs: e.JOBS_SHUTDOWN_TIMEOUT_MS,
      },
      webhooks: {
        allowHttp: e.WEBHOOK_ALLOW_HTTP,
        allowedHosts: e.WEBHOOK_ALLOWED_HOSTS,
        timeoutMs: e.WEBHOOK_TIMEOUT_MS,
        retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
        retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
        retryWindowSeconds: e.WEBHOOK_RETRY_WINDOW,
        concurrency: e.WEBHOOK_CONCURRENCY,
        dispatchIntervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS,
      },
      reportTimeZone: e.REPORT_TIME_ZONE,
      baseCurrency: e.BASE_CURRENCY,
      fxMaxAgeDays: e.FX_MAX_AGE_DAYS,
    });
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
