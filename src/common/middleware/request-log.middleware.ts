import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/**
 * One short line per request at `info`: who asked for what and how it ended (the id comes from
 * the logger's mixin). Health checks are not logged; below `info` nothing is attached at all.
 * Server errors are logged with their cause by the exception filter.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!logger.isLevelEnabled('info') || req.url.startsWith('/health')) return next();
    const started = performance.now();
    res.once('close', () => {
      // Flat fields: pino-http's `req`/`res` serializers expect the raw objects.
      const line = {
        method: req.method,
        url: req.originalUrl,
        statusCode: res.statusCode,
        responseTime: Math.round(performance.now() - started),
      };
      if (!res.writableFinished) logger.warn(line, 'request aborted');
      else logger.info(line, 'request completed');
    });
    next();
  };
}
