import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageLimit } from '../../common/pagination';
import { EVENT_TYPES, type EventType } from '../event-types';

export class ListEventsDto {
  /** Empty or absent for the oldest event kept, then the previous page's `meta.nextCursor`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  after?: string;

  /** Comma-separated event types to keep (an unknown type is a 400). */
  @ApiProperty({
    required: false,
    type: String,
    example: 'transaction.created,transaction.updated',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  types?: string;

  @PageLimit()
  limit?: number;
}

export class EventResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: EVENT_TYPES, enumName: 'EventType' })
  type!: EventType;
  occurredAt!: Date;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  actorId!: string | null;
  /**
   * The resource after the change, as its own routes return it (a transaction, a user, an
   * account or a transfer); for `transactions.imported`: `{ ownerId, imported, skipped, mode }`;
   * for `budget.threshold_crossed`: `{ budgetId, ownerId, period, threshold, spent, amount,
   * currency }` (`spent` right after the write that reached the threshold; `actorId` null: the
   * database writes it with that write).
   */
  @ApiProperty({ type: 'object', additionalProperties: true })
  data!: Record<string, unknown>;
}

export class EventCursorMeta {
  @ApiProperty({ example: 20 })
  limit!: number;
  /**
   * Pass as `after` for the next page. At the end of the feed it still points past the last
   * event seen (null only when nothing was ever seen), so polling with it returns only newer events.
   */
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class EventListResponse {
  data!: EventResponse[];
  meta!: EventCursorMeta;
}
