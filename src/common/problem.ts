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

/**
 * The RFC 9457 members of a problem, the single place they are shaped: the response body below
 * adds the request's `instance` and `requestId`; a batch's failed operation carries it as is.
 */
export function problemBody(problem: Problem) {
  return {
    type: 'about:blank',
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    ...(problem.errors ? { errors: problem.errors as FieldIssue[] } : {}),
    ...problem.extensions,
  };
}

/** Writes an RFC 9457 body. */
export function sendProblem(req: FastifyRequest, reply: FastifyReply, problem: Problem): void {
  if (reply.raw.headersSent) {
    reply.raw.end();
    return;
  }
  const { type, title, status, detail, ...more } = problemBody(problem);
  const body = JSON.stringify({
    type,
    title,
    status,
    detail,
    instance: pathOf(req.originalUrl ?? req.raw.url ?? ''),
    requestId: req.id,
    ...more,
  });
  const mediaType = 'application/problem+json';
  if (reply.sent) {
    // A route that writes the Node response itself (the CSV export) failed before writing.
    reply.raw
      .writeHead(problem.status, { ...problem.headers, 'Content-Type': mediaType })
      .end(body);
    return;
  }
  reply
    .headers(problem.headers ?? {})
    .code(problem.status)
    .type(mediaType)
    .send(body);
}
