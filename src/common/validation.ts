import {
  type ArgumentMetadata,
  BadRequestException,
  ParseUUIDPipe,
  ValidationPipe,
  type ValidationError,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidatorOptions } from 'class-validator';
import type { FieldIssue } from './problem';

/** Flattens class-validator's tree into `[{ field, message }]`, one entry per broken rule. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldIssue[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/** The `:id` of every route: a malformed one is a validation error naming its field. */
export const ParseId = new ParseUUIDPipe({
  exceptionFactory: () => validationProblem([{ field: 'id', message: 'id must be a UUID' }]),
});

/** A cursor that was forged, truncated or belongs to another listing. */
export const invalidCursor = (message = 'cursor is invalid') =>
  validationProblem([{ field: 'cursor', message }]);

/** The one rule for inclusive date ranges (`from`/`to` are YYYY-MM-DD, so text order is date order). */
export function dateRangeIssues(from: string | undefined, to: string | undefined): FieldIssue[] {
  return from && to && from > to ? [{ field: 'from', message: 'from must not be after to' }] : [];
}

/** Every 400 is built here: the problem's `detail`, and its field issues when it has any. */
export function badRequest(detail: string, errors?: FieldIssue[]): BadRequestException {
  return new BadRequestException(errors ? { message: detail, errors } : { message: detail });
}

export function validationProblem(
  errors: FieldIssue[],
  detail = 'Validation failed',
): BadRequestException {
  return badRequest(detail, errors);
}

/**
 * Keys that name a member of Object.prototype (`constructor`, `toString`, `__proto__`, ...).
 * class-transformer skips them silently when it builds the DTO, so `forbidNonWhitelisted` never
 * sees them and `?toString=1` or `{"valueOf": 1}` would pass as known fields.
 */
const isPrototypeKey = (key: string) => key in Object.prototype || key === 'prototype';

/** Parsed JSON and query strings only: never walk a Buffer or a stream byte by byte. */
const isPlainContainer = (value: unknown): value is object => {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  // Fastify's query parser (fast-querystring) builds objects on a prototype-less prototype.
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null;
};

function prototypeKeys(value: unknown, path = ''): FieldIssue[] {
  if (!isPlainContainer(value)) return [];
  return Object.keys(value).flatMap((key) => {
    const field = path ? `${path}.${key}` : key;
    if (isPrototypeKey(key)) return [{ field, message: `property ${field} should not exist` }];
    return prototypeKeys((value as Record<string, unknown>)[key], field);
  });
}

/** The house ValidationPipe, plus the unknown fields class-transformer would hide from it. */
class StrictValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const issues = prototypeKeys(value);
      if (issues.length > 0) throw validationProblem(issues);
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

export const validationPipe = new StrictValidationPipe({
  ...VALIDATOR_OPTIONS,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  exceptionFactory: (errors) => validationProblem(flattenValidationErrors(errors)),
});

/**
 * The request pipe's rules applied to a plain object outside a request (CSV rows), so a row is
 * judged exactly like the same JSON body would be.
 */
export function validatePlain<T extends object>(
  cls: new () => T,
  plain: object,
): { value: T; errors: FieldIssue[] } {
  const value = plainToInstance(cls, plain, { enableImplicitConversion: false });
  return { value, errors: flattenValidationErrors(validateSync(value, VALIDATOR_OPTIONS)) };
}
