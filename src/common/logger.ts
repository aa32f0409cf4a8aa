import type { Params } from 'nestjs-pino';
import { currentRequest } from './request-context';

/**
 * JSON logs through nestjs-pino; credentials are redacted wherever they might appear, and every
 * line written during a request carries its id (`reqId`, from the request context).
 *
 * nestjs-pino's own per-request middleware (pino-http) is not mounted (`forRoutes: []`): it built
 * two child loggers per request and serialised and redacted the request into them whether or not
 * anything was logged, ~20 % of the CPU of a trivial route even at LOG_LEVEL=warn (bench
 * --cpu-prof on /health/live). The one line per request is written by `requestLog` instead.
 *
 * Takes the AppConfig by the one field it reads: config/ imports common/, never the reverse.
 */
export function loggerOptions(config: { logLevel: string }): Params {
  return {
    forRoutes: [],
    pinoHttp: {
      level: config.logLevel,
      mixin: () => {
        const request = currentRequest();
        return request ? { reqId: request.requestId } : {};
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.password',
          '*.newPassword',
          '*.currentPassword',
          '*.accessToken',
          '*.refreshToken',
          '*.passwordHash',
          '*.key',
        ],
        censor: '[redacted]',
      },
    },
  };
}
