import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { databaseIncidents } from './database-incidents';
import { isDatabaseUnavailable, isPoolTimeout } from './pool-errors';
import { AccessDenied } from '../access';
import { type Problem, sendProblem } from '../problem';

const RETRY_SOON = { 'Retry-After': '1' };

/** A failed readiness probe's 503: its cause is reported where it arose, not logged here. */
export class ProbeUnavailableException extends ServiceUnavailableException {}

const DATABASE_UNAVAILABLE: Problem = {
  status: 503,
  detail: 'The database is unavailable right now; retry shortly',
  headers: RETRY_SOON,
};

/**
 * Constraints a write can meet only by racing another request (the account was archived, deleted
 * or changed currency after the request checked it): answered as the check would have.
 */
const PG_CONSTRAINT_PROBLEMS: Record<string, Problem> = {
  transactions_account_open: {
    status: 422,
    detail: 'the account is archived',
    errors: [{ field: 'accountId', message: 'the account is archived' }],
  },
  transactions_account_fk: {
    status: 422,
    detail: "accountId must name an account of the transaction's owner, in its currency",
    errors: [
      {
        field: 'accountId',
        message: "accountId must name an account of the transaction's owner, in its currency",
      },
    ],
  },
};

/** Postgres error codes that mean the client sent something the schema refuses. */
const PG_CLIENT_ERRORS: Record<string, Problem> = {
  '23505': { status: 409, detail: 'A resource with the same unique value already exists' },
  '23514': { status: 400, detail: 'A value is outside the allowed range' },
  '23503': { status: 422, detail: 'A referenced resource does not exist' },
  '22P02': { status: 400, detail: 'A value has an invalid format' },
  '22003': { status: 400, detail: 'A number is out of range' },
  '22007': { status: 400, detail: 'A date or time has an invalid format' },
  '22008': { status: 400, detail: 'A date or time is out of range' },
  '22001': { status: 400, detail: 'A value is too long' },
  // A NUL character (\u0000) in any text: PostgreSQL cannot store it.
  '22021': { status: 400, detail: 'A value contains a character that cannot be stored' },
  // Transient conflicts between concurrent transactions: retrying is the remedy.
  '40P01': {
    status: 503,
    detail: 'The request collided with a concurrent one; retry',
    headers: RETRY_SOON,
  },
  '40001': {
    status: 503,
    detail: 'The request collided with a concurrent one; retry',
    headers: RETRY_SOON,
  },
  '57014': {
    status: 503,
    detail: 'The query took too long and was cancelled; narrow the request and retry',
    headers: RETRY_SOON,
  },
};

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const res = http.getResponse<FastifyReply>();
    const problem = problemOf(exception, req.raw.complete);
    // A 500 is a defect: its stack is logged. A 503 is a known passing condition (the database
    // away or busy, a collision): one warning line, so an outage does not flood the log; an
    // unavailable database (a failover) one line per incident, however many requests it fails.
    if (problem.status === 500) this.logger.error(forTheLog(exception));
    else if (problem === DATABASE_UNAVAILABLE)
      databaseIncidents.report('requests', cause(exception));
    else if (problem.status >= 500 && !(exception instanceof ProbeUnavailableException))
      this.logger.warn(`${problem.status} ${problem.detail}: ${cause(exception)}`);
    sendProblem(req, res, problem);
  }
}

/**
 * The problem an exception answers: an HttpException as it says, a database refusal as the
 * schema means it, an unavailable database as a 503, anything else a 500. `bodyComplete`: the
 * request body had fully arrived (a reset then came from the database's side). A batch answers
 * each failed operation with the problem its single route would have sent.
 */
export function problemOf(exception: unknown, bodyComplete = true): Problem {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    if (typeof body === 'string') return { status, detail: body };
    const { message, errors, headers, extensions } = body as {
      message?: unknown;
      errors?: unknown[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    };
    const detail = Array.isArray(message)
      ? message.join('; ')
      : typeof message === 'string'
        ? message
        : exception.message;
    return { status, detail, errors, extensions, headers };
  }
  if (exception instanceof AccessDenied) return { status: 403, detail: exception.message };
  // TypeORM wraps the server's error; a COPY on a raw client (imports) throws it as it is.
  const dbError =
    exception instanceof QueryFailedError
      ? (exception.driverError as { code?: string; constraint?: string } | undefined)
      : exception instanceof DatabaseError
        ? exception
        : undefined;
  if (dbError) {
    const known =
      PG_CONSTRAINT_PROBLEMS[dbError.constraint ?? ''] ?? PG_CLIENT_ERRORS[dbError.code ?? ''];
    if (known) return known;
  }
  const reset = (exception as { code?: unknown } | null)?.code === 'ECONNRESET';
  // A reset after the whole body arrived came from the database's socket, not the client's.
  if (isDatabaseUnavailable(exception) || (reset && bodyComplete)) return DATABASE_UNAVAILABLE;
  // The client went away while its body was being read: its fault, and nobody hears the answer.
  if (reset) {
    return { status: 400, detail: 'The request ended before its body was complete' };
  }
  if (isPoolTimeout(exception)) {
    return {
      status: 503,
      detail: 'The server is busy (no database connection came free in time); retry shortly',
      headers: RETRY_SOON,
    };
  }
  return {
    status: 500,
    detail: 'An unexpected error occurred; quote the requestId when reporting it',
  };
}

/**
 * What the database or the driver said: its error code and message. Never a failed query's SQL
 * parameters (emails, password hashes, notes), which TypeORM's error would carry.
 */
function cause(exception: unknown): string {
  const driver = (exception as { driverError?: unknown } | null)?.driverError ?? exception;
  const code = (driver as { code?: unknown } | null)?.code;
  const message = driver instanceof Error ? driver.message : String(driver);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/** A failed query is logged with the database's code and message and the stack, without values. */
function forTheLog(exception: unknown): unknown {
  if (!(exception instanceof QueryFailedError)) return exception;
  const logged = new Error(`database error ${cause(exception)}`);
  logged.stack = `${logged.message}\n${exception.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return logged;
}
