import { PreconditionFailedException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A strong validator: the hash of the representation, so any visible change yields a new tag. */
export function etagOf(representation: object): string {
  return `"${createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27)}"`;
}

/** Honours `If-Match` (strong comparison, `*` or a list); without it the update applies. */
export function assertIfMatch(ifMatch: string | undefined, current: object): void {
  if (ifMatch === undefined) return;
  const tag = etagOf(current);
  const accepted = ifMatch.split(',').map((t) => t.trim());
  if (!accepted.includes('*') && !accepted.includes(tag)) {
    throw new PreconditionFailedException(
      'The resource has changed since you read it (If-Match does not match its ETag)',
    );
  }
}

/**
 * Fastify `onSend` hook: a GET whose `If-None-Match` names the response's ETag (weak comparison,
 * `*` or a list, RFC 9110 §13.1.2) is answered 304 without a body.
 */
export function answerNotModified(
  req: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: null, payload: unknown) => void,
): void {
  const given = req.headers['if-none-match'];
  const tag = reply.getHeader('etag');
  if (
    given === undefined ||
    typeof tag !== 'string' ||
    reply.statusCode !== 200 ||
    (req.method !== 'GET' && req.method !== 'HEAD')
  )
    return done(null, payload);
  const weak = (t: string) => t.trim().replace(/^W\//, '');
  const hit = given.split(',').some((t) => t.trim() === '*' || weak(t) === weak(tag));
  if (!hit) return done(null, payload);
  reply.code(304).removeHeader('content-type');
  done(null, '');
}
