import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiValidationResponse } from '../../common/decorators/api-problems.decorator';
import { CurrentUser } from '../../common/decorators/current-user.decorator';
import { Auth } from '../../common/decorators/roles.decorator';
import { ProblemResponse } from '../../common/problem.response';
import { ParseId } from '../../common/validation';
import type { User } from '../../users/entities/user.entity';
import { ImportJobResponse } from '../dto/import-query.dto';
import { ImportJobsService } from './import-jobs.service';

@ApiTags('transactions')
@Controller('imports')
export class ImportsController {
  constructor(private readonly jobs: ImportJobsService) {}

  /** A background import (`POST /transactions/import?async=true`): status and progress. */
  @Get(':id')
  @Auth('GET /imports/{id}')
  @ApiOkResponse({ type: ImportJobResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such import, or not yours' })
  get(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<ImportJobResponse> {
    return this.jobs.get(actor, id);
  }
}
