import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pathOf } from './http/request';

export interface FieldIssue {
  field: string;
  message: string;
  [extra: string]: unknown;
}

export interface Problem {
  status: number;
  detail: string;
  errors?: unknown[];
  /** Extension members (RFC 9457 section 3.2), such as `missingRates`. */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Writes an RFC 9457 body; the single place a problem response is shaped. */
export function sendProblem(req: FastifyRequest, reply: FastifyReply, problem: Problem): void {
  if (reply.raw.headersSent) {
    reply.raw.end();
    return;
  }
  const body = JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    instance: pathOf(req.originalUrl ?? req.raw.url ?? ''),
    requestId: req.id,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...problem.extensions,
  });
  const type = 'application/problem+json';
  if (reply.sent) {
    // A route that writes the Node response itself (the CSV export) failed before writing.
    reply.raw.writeHead(problem.status, { ...problem.headers, 'Content-Type': type }).end(body);
    return;
  }
  reply
    .headers(problem.headers ?? {})
    .code(problem.status)
    .type(type)
    .send(body);
}
