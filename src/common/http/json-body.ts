import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { FieldIssue } from '../problem';
import { badRequest, validationProblem } from '../validation';

const MAX_DEPTH = 16;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const JSON_TYPES = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** Route config (`@RouteConfig(STREAMED_BODY)`): the handler reads the request stream itself. */
export const STREAMED_BODY = { streamedBody: true };

/**
 * JSON bodies only, at most `bodyLimit` bytes (Fastify answers 413 past it), strict (an object
 * or an array at the top) and without prototype-polluting keys. A route marked STREAMED_BODY
 * gets the request stream untouched (the CSV import); any other media type is 415. Failures
 * reach the exception filter as HttpExceptions.
 */
export function registerJsonBody(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    JSON_TYPES,
    { parseAs: 'string', bodyLimit },
    (req, text: string, done) => {
      try {
        assertUtf8(req.headers);
        done(null, parseStrict(text));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  fastify.addContentTypeParser('*', (req, _payload, done) => {
    // A Content-Type with no body (`curl -d ''`) is no body at all, whatever the type.
    if (!hasBody(req.headers)) return done(null, undefined);
    const config = req.routeOptions.config as Partial<typeof STREAMED_BODY>;
    if (config.streamedBody === true) return done(null, undefined);
    done(new UnsupportedMediaTypeException('Send the body as application/json'), undefined);
  });
}

/** Route config (`@RouteConfig(bodyLimit(n))`): this route's JSON body may be up to `n` bytes. */
export const bodyLimit = (bytes: number) => ({ bodyLimit: bytes });

/**
 * Nest's Fastify adapter passes a route's `config` but not its `bodyLimit`: this hook lifts one
 * from the other while each route is registered (Fastify reads it at parse time).
 */
export function routeBodyLimits(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    // `config` is absent on routes registered without one, whatever Fastify's types say.
    const config: { bodyLimit?: number } | undefined = route.config;
    if (config?.bodyLimit !== undefined) route.bodyLimit = config.bodyLimit;
  });
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** UTF-8 text only: another charset, or a compressed body, is refused rather than misread. */
function assertUtf8(headers: IncomingHttpHeaders): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headers['content-type'] ?? '')?.[1];
  const encoding = headers['content-encoding'];
  if (
    (charset !== undefined && !/^utf-?8$/i.test(charset)) ||
    (encoding !== undefined && encoding.toLowerCase() !== 'identity')
  )
    throw new UnsupportedMediaTypeException('Unsupported body encoding; send uncompressed UTF-8');
}

function parseStrict(text: string): unknown {
  // A byte order mark is allowed before JSON text (RFC 8259 §8.1: parsers may ignore it).
  const start = text.replace(/^\uFEFF/, '').trimStart();
  // An empty body is no body: validation then names every missing field.
  if (start === '') return undefined;
  let value: unknown;
  // Like Express's strict mode: a bare string, number or null is not a request body.
  if (start[0] === '{' || start[0] === '[') {
    try {
      value = JSON.parse(start);
    } catch {
      // value stays undefined: refused below
    }
  }
  if (value === undefined) throw badRequest('The body is not valid JSON');
  const issue = bodyIssue(value);
  if (issue) throw validationProblem([issue]);
  return value;
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
