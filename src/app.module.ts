import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { ThrottlerModule } from '@nestjs/throttler';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AccountsModule } from './accounts/accounts.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BudgetsModule } from './budgets/budgets.module';
import { JWT_ISSUER } from './auth/jwt.strategy';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { ProblemDetailsFilter } from './common/filters/problem-details.filter';
import { JwtAuthGuard } from './common/guards/jwt-auth.guard';
import { RolesGuard } from './common/guards/roles.guard';
import { QueryParamsGuard } from './common/validation';
import { AppThrottlerGuard } from './common/guards/throttler.guard';
import { MemoryThrottlerStorage } from './common/guards/memory-throttler-storage';
import { SharedThrottlerStorage } from './common/guards/throttler-storage';
import { throttlers } from './common/guards/throttlers';
import { loggerOptions } from './common/logger';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { CurrenciesModule } from './currencies/currencies.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { dataSourceOptions } from './database/data-source-options';
import { ReplicasModule } from './database/replicas/replicas.module';
import { guardPool } from './database/transaction';
import { EventsModule } from './events/events.module';
import { ExchangeRatesModule } from './exchange-rates/exchange-rates.module';
import { ExportsModule } from './exports/exports.module';
import { JobsModule } from './jobs/jobs.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { HealthModule } from './health/health.module';
import { TransactionsModule } from './transactions/transactions.module';
import { TransfersModule } from './transfers/transfers.module';
import { UsersModule } from './users/users.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WebModule } from './web/web.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    // In memory for one instance; in Redis when several instances must share the limits.
    const throttlerStorage = config.redisUrl
      ? new SharedThrottlerStorage(config.redisUrl)
      : new MemoryThrottlerStorage();
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config)),
        TypeOrmModule.forRoot({
          ...dataSourceOptions({
            url: databaseUrl,
            poolMax: config.dbPoolMax,
            // With DATABASE_DIRECT_URL set, DATABASE_URL is a pooler that refuses the parameter.
            statementTimeoutMs: config.databaseDirectUrl ? undefined : config.dbStatementTimeoutMs,
            poolTimeoutMs: config.dbPoolTimeoutMs,
          }),
          // bootstrap.ts migrates first, under a lock, on a direct connection (database/migrate.ts).
          migrationsRun: false,
          autoLoadEntities: false,
          retryAttempts: 3,
        }),
        JwtModule.register({
          global: true,
          secret: config.jwtKey,
          signOptions: {
            algorithm: 'HS256',
            expiresIn: config.jwtAccessTtl,
            issuer: JWT_ISSUER,
            audience: JWT_ISSUER,
          },
          verifyOptions: { algorithms: ['HS256'], issuer: JWT_ISSUER, audience: JWT_ISSUER },
        }),
        ThrottlerModule.forRoot({
          throttlers: throttlers(config),
          storage: throttlerStorage,
        }),
        ReplicasModule.forRoot(config.databaseReplicaUrls),
        HealthModule,
        AuditModule,
        IdempotencyModule,
        JobsModule.forRoot({
          url: config.databaseDirectUrl ?? databaseUrl,
          maintenanceIntervalSeconds: config.jobs.maintenanceIntervalSeconds,
          shutdownTimeoutMs: config.jobs.shutdownTimeoutMs,
        }),
        EventsModule,
        UsersModule,
        AuthModule,
        ApiKeysModule,
        TransactionsModule,
        AccountsModule,
        TransfersModule,
        LifecycleModule,
        ExportsModule,
        BudgetsModule,
        CurrenciesModule,
        ExchangeRatesModule,
        DashboardModule,
        WebhooksModule,
        ...(config.uiEnabled ? [WebModule] : []),
      ],
      providers: [
        // Order matters: rate limit first, then authenticate, authorise, and check the query.
        { provide: APP_GUARD, useClass: AppThrottlerGuard },
        // Also injectable by class: the throttler asks it who the caller is.
        JwtAuthGuard,
        { provide: APP_GUARD, useExisting: JwtAuthGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        // Unknown query parameters: a 400 only for a caller the guards above let through.
        { provide: APP_GUARD, useClass: QueryParamsGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        {
          provide: 'POOL_GUARD',
          inject: [getDataSourceToken()],
          useFactory: (db: DataSource) => {
            guardPool(db);
            return true;
          },
        },
        // Registered so its connection or timer is closed on shutdown.
        { provide: 'THROTTLER_STORAGE_INSTANCE', useValue: throttlerStorage },
      ],
    };
  }
}
