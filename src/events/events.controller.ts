import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import type { User } from '../users/entities/user.entity';
import { EventListResponse, ListEventsDto } from './dto/list-events.dto';
import { EventsService } from './events.service';

@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /**
   * The change feed, oldest first: admins see every event, everyone else the events about their
   * own transactions. Poll with `after=<meta.nextCursor>` to get only what is new. Events are kept
   * EVENT_RETENTION (default 30 days).
   */
  @Get()
  @Auth()
  @ApiOkResponse({ type: EventListResponse })
  @ApiValidationResponse('Unknown event type, bad limit, or a cursor this feed did not hand out')
  list(@CurrentUser() actor: User, @Query() q: ListEventsDto): Promise<EventListResponse> {
    return this.events.list(actor, q);
  }
}
