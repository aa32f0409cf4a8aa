import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

export interface DatabaseSettings {
  url: string;
  poolMax?: number;
  /**
   * Sent in the startup packet. Undefined: none is sent, as a transaction-pooling PgBouncer
   * refuses the parameter; the pooler's server connections then carry it (docs/operations.md).
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
        : { statement_timeout: settings.statementTimeoutMs }),
      application_name: 'finance-api',
    },
  };
}
