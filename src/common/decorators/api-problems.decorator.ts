import { ApiBadRequestResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { ProblemResponse } from '../problem.response';

export const ApiValidationResponse = (
  description = 'Invalid input; `errors` lists every offending field',
) => ApiBadRequestResponse({ type: ProblemResponse, description });

export const ApiRateLimitResponse = () =>
  ApiTooManyRequestsResponse({
    type: ProblemResponse,
    description: 'Rate limit exceeded; see `Retry-After`',
  });
