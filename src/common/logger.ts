import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';

/** JSON logs with the request id; credentials are redacted wherever they might appear. */
export function loggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      genReqId: (req: IncomingMessage) =>
        String((req as IncomingMessage & { id?: string }).id ?? ''),
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
      // One short line per request: who asked for what and how it ended. Full header dumps (CSP
      // and all, ~1.5 KB a line) cost a sizeable share of throughput at the default level.
      // The request id is already on every line as `reqId` (quietReqLogger), so not repeated here.
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health') },
      quietReqLogger: true,
    },
  };
}
