import { Controller, Get, HttpCode, Param, Post, Res, StreamableFile } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiGoneResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { ExportResponse } from './dto/export.response';
import { ExportsService, exportPath } from './exports.service';

const GONE = {
  type: ProblemResponse,
  description: 'The export expired (7 days after it was requested) and its content is deleted',
};
const NOT_FOUND = {
  type: ProblemResponse,
  description: 'No such export, or not one you requested (admins see every export)',
};

/** Personal data export (docs/api.md section 17). API keys are refused on every route (403). */
@ApiTags('exports')
@Controller()
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  /**
   * Export everything stored about a user, as one JSON document: profile, transactions (deleted
   * ones too), accounts, transfers, budgets, API key metadata and the audit entries they made.
   * Oneself, or an admin for anyone. Answers at once; poll `Location` until `succeeded`, then
   * download. The export expires after 7 days.
   */
  @Post('users/:id/export')
  @Auth('POST /users/{id}/export')
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: ExportResponse,
    description: 'Queued; `Location` points at the export',
  })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({
    type: ProblemResponse,
    description:
      'No such user, or (analysts and viewers) another user: as GET /users/{id}, they are not told it exists. An auditor asking for another user gets 403',
  })
  async request(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ExportResponse> {
    const created = await this.exports.request(actor, id);
    res.header('Location', exportPath(created.id));
    return created;
  }

  /** An export's status: readable by whoever requested it, and by admins. */
  @Get('exports/:id')
  @Auth('GET /exports/{id}')
  @ApiOkResponse({ type: ExportResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  @ApiGoneResponse(GONE)
  get(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<ExportResponse> {
    return this.exports.get(actor, id);
  }

  /**
   * The export's document (`application/json`, as an attachment), streamed; its format is
   * described in docs/api.md section 17 and docs/schemas/personal-data-export.schema.json.
   */
  @Get('exports/:id/download')
  @Auth('GET /exports/{id}/download')
  @ApiProduces('application/json')
  @ApiOkResponse({
    description: 'The personal data document',
    schema: {
      type: 'object',
      description:
        '{ format, version, exportId, userId, generatedAt, profile, transactions, accounts, transfers, budgets, apiKeys, auditEntries }',
    },
  })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  @ApiConflictResponse({
    type: ProblemResponse,
    description: 'The export is still queued or running, or it failed: poll GET /exports/{id}',
  })
  @ApiGoneResponse(GONE)
  async download(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
  ): Promise<StreamableFile> {
    const { row, body } = await this.exports.download(actor, id);
    return new StreamableFile(body, {
      type: 'application/json',
      disposition: `attachment; filename="personal-data-${row.userId}.json"`,
      length: row.bytes,
    });
  }
}
