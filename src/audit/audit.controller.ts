import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import type { User } from '../users/entities/user.entity';
import { AuditService } from './audit.service';
import { AuditLogListResponse, ListAuditLogsDto } from './dto/list-audit-logs.dto';

@ApiTags('audit')
@Controller('audit-logs')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** The audit trail, newest first, cursor-paged. Entries cannot be changed or deleted. */
  @Get()
  @Auth('GET /audit-logs')
  @ApiOkResponse({ type: AuditLogListResponse })
  @ApiValidationResponse('Invalid filter, from > to, or a forged cursor')
  list(@CurrentUser() reader: User, @Query() q: ListAuditLogsDto): Promise<AuditLogListResponse> {
    return this.audit.list(reader, q);
  }
}
