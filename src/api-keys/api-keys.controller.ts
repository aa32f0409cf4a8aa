import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { pageMeta } from '../common/pagination';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { ApiKeysService } from './api-keys.service';
import {
  ApiKeyListResponse,
  ApiKeyResponse,
  CreatedApiKeyResponse,
  ListApiKeysDto,
} from './dto/api-key.response';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

/** Keys for machine access. Managed with a signed-in session only: a key cannot mint or revoke keys. */
@ApiTags('api-keys')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  /**
   * Create a key for yourself. The key is in this response only; store it now. Its scopes must be
   * ones your role can use; what it may do shrinks with your role if you are later demoted.
   */
  @Post()
  @Auth('POST /api-keys')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: CreatedApiKeyResponse,
    description: 'Created; `Location` points at it',
  })
  @ApiValidationResponse('Invalid name or scopes, or expiresAt not within the next 365 days')
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description: 'A scope your role cannot use, or already 20 live keys',
  })
  async create(
    @CurrentUser() actor: User,
    @Body() dto: CreateApiKeyDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<CreatedApiKeyResponse> {
    const key = await this.keys.create(actor, dto);
    res.header('Location', `/api/v1/api-keys/${key.id}`);
    return key;
  }

  /** Your unrevoked keys (expired ones included), newest first; admins: anyone's with `userId`. */
  @Get()
  @Auth('GET /api-keys')
  @ApiOkResponse({ type: ApiKeyListResponse })
  @ApiValidationResponse()
  async list(@CurrentUser() actor: User, @Query() q: ListApiKeysDto): Promise<ApiKeyListResponse> {
    const { rows, total, page, limit } = await this.keys.list(actor, q);
    return { data: rows, meta: pageMeta(page, limit, total) };
  }

  /** One of your keys (admins: anyone's). Metadata only: the key itself is never shown again. */
  @Get(':id')
  @Auth('GET /api-keys/{id}')
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such key, revoked, or not yours' })
  get(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<ApiKeyResponse> {
    return this.keys.findOne(actor, id);
  }

  /** Revoke a key at once (admins: anyone's). */
  @Delete(':id')
  @Auth('DELETE /api-keys/{id}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({
    type: ProblemResponse,
    description: 'No such key, already revoked, or not yours',
  })
  async revoke(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<void> {
    await this.keys.revoke(actor, id);
  }
}
