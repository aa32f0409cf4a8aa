import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';

export interface FieldIssue {
  field: string;
  message: string;
  [extra: string]: unknown;
}

export interface Problem {
  status: number;
  detail: string;
  errors?: unknown[];
  headers?: Record<string, string>;
}

/** Writes an RFC 9457 body; the single place a problem response is shaped. */
export function sendProblem(req: Request, res: Response, problem: Problem): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(problem.headers ?? {})) res.setHeader(name, value);
  const requestId = typeof req.id === 'string' ? req.id : '';
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: 'about:blank',
        title: STATUS_CODES[problem.status] ?? 'Error',
        status: problem.status,
        detail: problem.detail,
        instance: req.originalUrl.split('?')[0],
        requestId,
        ...(problem.errors ? { errors: problem.errors } : {}),
      }),
    );
}
