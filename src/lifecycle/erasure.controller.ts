import { Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { ErasureResponse } from './dto/erasure.response';
import { ErasureService } from './erasure.service';

@ApiTags('users')
@Controller('users')
export class ErasureController {
  constructor(private readonly erasure: ErasureService) {}

  /**
   * Erase a user's personal data (admin, signed in; never with an API key). The user is
   * deactivated at once; a job then deletes their data and leaves a tombstone, which
   * `GET /users/{id}` (the `Location`) shows when done. Repeating it is harmless: an erased user
   * answers 202 with `status: erased`.
   */
  @Post(':id/erase')
  @Auth('POST /users/{id}/erase')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: ErasureResponse, description: 'Queued, or already erased' })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such user' })
  @ApiConflictResponse({
    type: ProblemResponse,
    description: 'The caller itself, or the last active admin',
  })
  async erase(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ErasureResponse> {
    const result = await this.erasure.request(actor, id);
    res.header('Location', `/api/v1/users/${id}`);
    return result;
  }
}
