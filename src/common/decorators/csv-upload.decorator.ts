import { applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiPayloadTooLargeResponse,
  ApiRequestTimeoutResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { STREAMED_BODY } from '../http/json-body';
import { ProblemResponse } from '../problem.response';

/**
 * A CSV upload route (the transaction and the exchange-rate imports): the raw body is streamed
 * to the route (csv-source.ts), as `text/csv` or the `file` field of `multipart/form-data`, and
 * the answers every such upload shares are documented. Each route adds its own results, its 503
 * and its `Idempotency-Key` header.
 */
export const CsvUpload = () =>
  applyDecorators(
    RouteConfig(STREAMED_BODY),
    ApiConsumes('text/csv', 'multipart/form-data'),
    ApiBody({
      description: 'The CSV file',
      schema: {
        oneOf: [
          { type: 'string', description: 'text/csv body' },
          {
            type: 'object',
            properties: { file: { type: 'string', format: 'binary' } },
            required: ['file'],
          },
        ],
      },
    }),
    ApiRequestTimeoutResponse({
      type: ProblemResponse,
      description: 'The upload sent nothing for CSV_IDLE_TIMEOUT_MS; the connection is closed',
    }),
    ApiPayloadTooLargeResponse({
      type: ProblemResponse,
      description: 'The file exceeds IMPORT_MAX_BYTES',
    }),
    ApiUnsupportedMediaTypeResponse({
      type: ProblemResponse,
      description: 'Neither text/csv nor multipart/form-data',
    }),
    ApiConflictResponse({
      type: ProblemResponse,
      description: 'An import with the same Idempotency-Key is still in progress',
    }),
  );
