import {
  type ArgumentMetadata,
  BadRequestException,
  type CanActivate,
  type ExecutionContext,
  ParseUUIDPipe,
  SetMetadata,
  ValidationPipe,
  type ValidationError,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
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

const ANY_QUERY_KEY = 'acceptsAnyQuery';

/**
 * For a route outside the API that must answer whatever query string it is sent: a health probe
 * with a cache-busting `?_=…` must not read as "down". Nothing under /api/v1 uses it.
 */
export const AcceptsAnyQuery = () => SetMetadata(ANY_QUERY_KEY, true);

/**
 * Unknown query parameters are a 400 on every route (docs/api.md, conventions). A route with a
 * query DTO has the pipe refuse what the DTO does not list; but pipes run only for the parameters
 * a handler declares, so a handler without `@Query()` would take `?anything=` silently (`GET
 * /auth/me?x=1`, `GET /transactions/:id?catgory=Rent`). This closes that gap: on such a route
 * every query parameter is unknown. The last global guard (app.module.ts), so it runs after the
 * others (a caller who may not use the route learns nothing more) and before any interceptor.
 * A guard rather than an interceptor: it only checks, and a route without interceptors is
 * answered without an rxjs pipeline around its handler.
 */
export class QueryParamsGuard implements CanActivate {
  /** Handler → whether it reads the query string (declares `@Query()` or opts out). */
  private readonly takesQuery = new WeakMap<object, boolean>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() === 'http') {
      const { query } = context.switchToHttp().getRequest<{ query?: unknown }>();
      const names = query !== null && typeof query === 'object' ? Object.keys(query) : [];
      if (names.length > 0 && !this.readsQuery(context)) {
        throw validationProblem(
          names.map((field) => ({ field, message: `property ${field} should not exist` })),
        );
      }
    }
    return true;
  }

  private readsQuery(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let known = this.takesQuery.get(handler);
    if (known === undefined) {
      const controller = context.getClass();
      // Where `@Query()` records itself: `<paramtype>:<index>` keys on the controller class.
      const params = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ??
        {}) as Record<string, unknown>;
      known =
        Object.keys(params).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY)) ||
        Reflect.getMetadata(ANY_QUERY_KEY, handler) === true ||
        Reflect.getMetadata(ANY_QUERY_KEY, controller) === true;
      this.takesQuery.set(handler, known);
    }
    return known;
  }
}
