import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * One short line per request at `info`: who asked for what and how it ended. Health checks are
 * not logged; below `info` nothing is done at all. Server errors are logged with their cause by
 * the exception filter. Fastify's `onResponse` hook: `reply.elapsedTime` is already measured.
 */
export function requestLog(logger: Logger) {
  return (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (logger.isLevelEnabled('info') && !req.url.startsWith('/health')) {
      // Flat fields: pino-http's `req`/`res` serializers expect the raw objects.
      const line = {
        reqId: req.id,
        method: req.method,
        url: req.originalUrl,
        statusCode: reply.statusCode,
        responseTime: Math.round(reply.elapsedTime),
      };
      if (!reply.raw.writableFinished) logger.warn(line, 'request aborted');
      else logger.info(line, 'request completed');
    }
    done();
  };
}
