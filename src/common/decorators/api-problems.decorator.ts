import { applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiPreconditionFailedResponse,
  ApiResponse,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ProblemResponse } from '../problem.response';

export const ApiValidationResponse = (
  description = 'Invalid input; `errors` lists every offending field',
) => ApiBadRequestResponse({ type: ProblemResponse, description });

/** A figure in a reporting currency that lacks an exchange rate: the problem lists them. */
export const ApiMissingRatesResponse = () =>
  ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description:
      'An exchange rate needed for the figures is missing; `missingRates` lists them (from, to, date), oldest first, the first 100. No rate is ever taken as 1',
  });

export const ApiRateLimitResponse = () =>
  ApiTooManyRequestsResponse({
    type: ProblemResponse,
    description: 'Rate limit exceeded; see `Retry-After`',
  });

/** Documents a conditional GET of one resource: `If-None-Match` and its bodiless 304. */
export const ApiIfNoneMatch = () =>
  applyDecorators(
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description: 'ETag from a previous GET; while it is still current the answer is 304',
    }),
    ApiResponse({
      status: 304,
      description: 'Not modified: `If-None-Match` names the current ETag (no body)',
    }),
  );

/** Documents optimistic concurrency on a PATCH: the optional `If-Match` header and its 412. */
export const ApiIfMatch = () =>
  applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description: 'ETag from a previous GET; a stale one gives 412',
    }),
    ApiPreconditionFailedResponse({
      type: ProblemResponse,
      description: '`If-Match` does not match the current ETag',
    }),
  );
