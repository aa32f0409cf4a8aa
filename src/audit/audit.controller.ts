import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { AuditService } from './audit.service';
import { AuditLogListResponse, ListAuditLogsDto } from './dto/list-audit-logs.dto';

@ApiTags('audit')
@Controller('audit-logs')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** The audit trail, newest first, cursor-paged (admin). Entries cannot be changed or deleted. */
  @Get()
  @Auth('admin')
  @ApiOkResponse({ type: AuditLogListResponse })
  @ApiValidationResponse('Invalid filter, from > to, or a forged cursor')
  list(@Query() q: ListAuditLogsDto): Promise<AuditLogListResponse> {
    return this.audit.list(q);
  }
}
