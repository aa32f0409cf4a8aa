import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import type { KeyPrincipal } from '../common/principal';
import { CurrentApiKey, CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import type { User } from '../users/entities/user.entity';
import { EventListResponse, ListEventsDto } from './dto/list-events.dto';
import { EventsService } from './events.service';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /**
   * The change feed, oldest first: admins and auditors see every event (auditors with notes and
   * emails masked), everyone else the events about their own transactions, accounts and
   * transfers; an API key sees user events only with the `users:read` scope. Poll with
   * `after=<meta.nextCursor>` to get only what is new. Events are kept EVENT_RETENTION (default
   * 30 days).
   */
  @Get()
  @Auth('GET /events')
  @ApiOkResponse({ type: EventListResponse })
  @ApiValidationResponse('Unknown event type, bad limit, or a cursor this feed did not hand out')
  list(
    @CurrentUser() actor: User,
    @CurrentApiKey() key: KeyPrincipal['key'] | undefined,
    @Query() q: ListEventsDto,
  ): Promise<EventListResponse> {
    // User events carry user data: a key reads them only if it may read users.
    return this.events.list(actor, q, key !== undefined && !key.scopes.includes('users:read'));
  }
}
