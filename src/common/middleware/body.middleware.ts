import express, { type NextFunction, type Request, type Response } from 'express';
import { type FieldIssue, sendProblem } from '../problem';

const MAX_DEPTH = 16;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * JSON bodies only, at most 1 MiB, and no prototype-polluting keys. Every failure becomes a
 * problem response here, because body parsing runs before Nest's exception filter can see it.
 */
export function jsonBody(options: { limit: string; passThrough: (req: Request) => boolean }) {
  const parse = express.json({
    limit: options.limit,
    type: () => true,
  });

  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBody(req) || options.passThrough(req)) return next();
    if (!req.is('application/json') && !req.is('application/*+json')) {
      return sendProblem(req, res, { status: 415, detail: 'Send the body as application/json' });
    }
    parse(req, res, (err?: unknown) => {
      if (!err) {
        const issue = bodyIssue(req.body);
        if (!issue) return next();
        return sendProblem(req, res, { status: 400, detail: 'Validation failed', errors: [issue] });
      }
      const e = err as { status?: number; type?: string };
      if (e.status === 413)
        return sendProblem(req, res, {
          status: 413,
          detail: `The JSON body exceeds ${options.limit}`,
        });
      if (e.status === 415)
        return sendProblem(req, res, { status: 415, detail: 'Unsupported body encoding' });
      return sendProblem(req, res, { status: 400, detail: 'The body is not valid JSON' });
    });
  };
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Finds `__proto__`/`constructor`/`prototype` keys, or absurd nesting, before class-transformer
 * copies the body onto a DTO (no DTO here nests anywhere near MAX_DEPTH).
 */
function bodyIssue(value: unknown, path = 'body', depth = 0): FieldIssue | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_DEPTH) return { field: path, message: `nesting deeper than ${MAX_DEPTH} levels` };
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return { field: key, message: `property ${key} should not exist` };
    const found = bodyIssue((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}
