import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBody,
  ApiOkResponse,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentApiKey, CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { bodyLimit } from '../common/http/json-body';
import type { ApiKeyGrant } from '../common/principal';
import { ProblemResponse } from '../common/problem.response';
import {
  HeldIdempotencyClaim,
  Idempotent,
  type KeyedClaim,
} from '../idempotency/idempotency.interceptor';
import type { User } from '../users/entities/user.entity';
import {
  BATCH_BODY_LIMIT,
  BatchProblemResponse,
  BatchRequestDto,
  BatchResponse,
} from './dto/batch.dto';
import { TransactionBatchService } from './transaction-batch.service';

@ApiTags('transactions')
@Controller('transactions')
export class TransactionBatchController {
  constructor(private readonly batches: TransactionBatchService) {}

  /**
   * Up to 500 creates, updates, deletes and restores in one request, each judged as its own
   * route would judge it (role, key scope, ownership, validation, If-Match). `atomic: true`
   * (default): all or nothing, a 422 naming the failing operations; `atomic: false`: each
   * operation on its own, every result (success or problem) in input order. The body may be up
   * to 8 MiB.
   */
  @Post('batch')
  @Auth('POST /transactions/batch')
  @HttpCode(200)
  // Above @Idempotent: the last schema given for a status wins (their texts are joined).
  @ApiUnprocessableEntityResponse({
    type: BatchProblemResponse,
    description:
      'An atomic batch failed and nothing was written: `errors` lists `{index, status, field?, message}` (every invalid or forbidden operation, else the first that failed)',
  })
  @Idempotent()
  @RouteConfig(bodyLimit(BATCH_BODY_LIMIT))
  @ApiBody({ type: BatchRequestDto })
  @ApiOkResponse({
    type: BatchResponse,
    description: 'Applied (atomic), or each operation’s result (`atomic: false`)',
  })
  @ApiValidationResponse(
    'Malformed: no operations, an unknown op or member, an operation without its id or data; nothing was run',
  )
  @ApiPayloadTooLargeResponse({
    type: ProblemResponse,
    description: 'More than 500 operations, or a body over 8 MiB',
  })
  run(
    @CurrentUser() actor: User,
    @CurrentApiKey() key: ApiKeyGrant | undefined,
    @Body() body: unknown,
    @HeldIdempotencyClaim() claim?: KeyedClaim,
  ): Promise<BatchResponse> {
    return this.batches.run(actor, key, TransactionBatchService.parse(body), claim);
  }
}
