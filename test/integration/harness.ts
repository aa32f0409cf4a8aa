import type { INestApplicationContext, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Pool } from 'pg';
import { AppModule } from '../../src/app.module';
import { useBaseCurrency } from '../../src/common/currencies';
import { AppConfig } from '../../src/config/app-config';
import { migrate } from '../../src/database/migrate';
import type { User } from '../../src/users/entities/user.entity';
import { UsersRepository } from '../../src/users/users.repository';
import { ADMIN, testEnv } from '../app';
import { createTestDatabase, testPool } from '../database';

/**
 * The in-process tier: the application's modules, exactly as the app wires them, in this jest
 * worker, on a fresh migrated database. No HTTP, no build, no child process: tests call services
 * and repositories directly. HTTP behaviour (validation, status codes, headers) stays in e2e.
 */
export interface Harness {
  get<T>(type: Type<T>): T;
  /** The bootstrapped admin, as the services see an authenticated caller. */
  admin: User;
  /** A pool of its own on the same database, for the tests' independent recounts. */
  sql: Pool;
  config: AppConfig;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const config = AppConfig.fromEnv({ ...testEnv(database.url), ...env });
  useBaseCurrency(config.baseCurrency);
  await migrate(database.url);
  let context: INestApplicationContext | undefined;
  try {
    const module = await Test.createTestingModule({
      imports: [AppModule.forRoot(config, database.url)],
    }).compile();
    context = await module.init();
  } catch (error) {
    await database.drop();
    throw error;
  }
  const app = context;
  const sql = testPool(database.url);
  const found = await app.get(UsersRepository).findByEmailWithHash(ADMIN.email);
  if (!found) throw new Error('the first admin was not bootstrapped');
  const admin = (await app.get(UsersRepository).findActiveById(found.id))!;
  return {
    get: (type) => app.get(type),
    admin,
    sql,
    config,
    close: async () => {
      await app.close();
      await sql.end();
      await database.drop();
    },
  };
}
