import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { CursorCodec } from '../common/cursor';
import { validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { type AuditKeyset, AuditRepository } from './audit.repository';
import { AuditLogListResponse, ListAuditLogsDto } from './dto/list-audit-logs.dto';

@ApiTags('audit')
@Controller('audit-logs')
export class AuditController {
  private readonly cursors: CursorCodec;

  constructor(
    private readonly repo: AuditRepository,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'audit');
  }

  /** The audit trail, newest first, cursor-paged (admin). Entries cannot be changed or deleted. */
  @Get()
  @Auth('admin')
  @ApiOkResponse({ type: AuditLogListResponse })
  @ApiValidationResponse('Invalid filter, from > to, or a forged cursor')
  async list(@Query() q: ListAuditLogsDto): Promise<AuditLogListResponse> {
    if (q.from && q.to && q.from > q.to)
      throw validationProblem([{ field: 'from', message: 'from must not be after to' }]);
    const limit = q.limit ?? 20;
    let after: AuditKeyset | undefined;
    if (q.cursor) {
      after = this.cursors.decode<AuditKeyset>(q.cursor);
      if (!after || typeof after.at !== 'string' || typeof after.id !== 'string') {
        throw new BadRequestException({
          message: 'Validation failed',
          errors: [{ field: 'cursor', message: 'cursor is invalid' }],
        });
      }
    }
    const rows = await this.repo.list(q, limit, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(({ atKey: _atKey, ...row }) => row),
      meta: {
        limit,
        nextCursor:
          rows.length > limit && last ? this.cursors.encode({ at: last.atKey, id: last.id }) : null,
      },
    };
  }
}
