import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

/**
 * Session settings sent in the startup packet beside `statement_timeout`: JIT off. The converted
 * dashboard statements (database/rollups.ts) are priced above `jit_above_cost` from the plan's
 * guesses, and compiling them took 0.1-1.8 s a statement against 30-50 ms of real work: the
 * organisation's per-user overview in another currency answered in 170-200 ms with JIT and 30 ms
 * without (docs/performance.md, "JIT"). A pooler refuses startup options like the timeout; set it
 * on the server there (docs/operations.md).
 */
export const SESSION_OPTIONS = '-c jit=off';

export interface DatabaseSettings {
  url: string;
  poolMax?: number;
  /**
   * Sent in the startup packet with SESSION_OPTIONS. Undefined: neither is sent, as a
   * transaction-pooling PgBouncer refuses them; the pooler's server connections then carry them
   * (docs/operations.md).
   */
  statementTimeoutMs?: number;
  poolTimeoutMs?: number;
}

/** One definition of the connection, shared by the app and the TypeORM CLI (ormconfig.ts). */
export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: [join(__dirname, '..', '**', '*.entity.{ts,js}')],
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    extra: {
      max: settings.poolMax ?? 10,
      // Waiting for a free connection is bounded too: past it the request is a 503, not a hang.
      connectionTimeoutMillis: settings.poolTimeoutMs ?? 5_000,
      // Bounds every statement so one runaway query cannot hold a pooled connection forever.
      ...(settings.statementTimeoutMs === undefined
        ? {}
        : { statement_timeout: settings.statementTimeoutMs, options: SESSION_OPTIONS }),
      application_name: 'finance-api',
    },
  };
}
