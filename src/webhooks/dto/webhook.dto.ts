import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageLimit } from '../../common/pagination';
import { EVENT_TYPES, type EventType } from '../../events/event-types';

export class CreateWebhookDto {
  /** Where deliveries are POSTed: https (http only when the server allows it). */
  @ApiProperty({ example: 'https://hooks.example.com/finance' })
  @IsString()
  @MaxLength(2048)
  url!: string;

  /** The event types to deliver. */
  @ApiProperty({ enum: EVENT_TYPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(EVENT_TYPES, { each: true })
  events!: EventType[];

  @ApiProperty({ required: false, maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

/**
 * Absent means "leave it alone", but a `null` is validated (and refused): `@IsOptional` would wave
 * it through to a NOT NULL column, a 500 instead of a 400.
 */
const OnlyIfSent = () => ValidateIf((_dto: object, value: unknown) => value !== undefined);

export class UpdateWebhookDto {
  @ApiProperty({ required: false })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiProperty({ required: false, enum: EVENT_TYPES, isArray: true })
  @OnlyIfSent()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(EVENT_TYPES, { each: true })
  events?: EventType[];

  @ApiProperty({ required: false, maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  /** false pauses deliveries; true re-enables (also after an automatic disable). */
  @ApiProperty({ required: false })
  @OnlyIfSent()
  @IsBoolean()
  enabled?: boolean;
}

export class WebhookResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  url!: string;
  @ApiProperty({ enum: EVENT_TYPES, isArray: true })
  events!: string[];
  @ApiProperty({ type: String, nullable: true })
  description!: string | null;
  enabled!: boolean;
  /** Why it is disabled: by an admin, or every delivery failed for WEBHOOK_RETRY_WINDOW (24 h). */
  @ApiProperty({ type: String, nullable: true })
  disabledReason!: string | null;
  /** Since when every attempt has failed; null while deliveries succeed. */
  @ApiProperty({ type: Date, nullable: true })
  failingSince!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class WebhookWithSecretResponse extends WebhookResponse {
  /** The signing secret (`whsec_…`), shown only in this response. */
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })
  secret!: string;
}

export class WebhookListResponse {
  data!: WebhookResponse[];
}

export class DeliveryResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  /** The event's id, also sent as `webhook-id` (receivers dedupe on it). */
  @ApiProperty({ format: 'uuid' })
  eventId!: string;
  eventType!: string;
  @ApiProperty({ enum: ['pending', 'retrying', 'succeeded', 'failed'] })
  status!: string;
  /** Attempts made so far. */
  attempt!: number;
  @ApiProperty({ type: Number, nullable: true })
  statusCode!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  durationMs!: number | null;
  @ApiProperty({ type: String, nullable: true })
  error!: string | null;
  @ApiProperty({ type: Date, nullable: true })
  nextAttemptAt!: Date | null;
  createdAt!: Date;
  @ApiProperty({ type: Date, nullable: true })
  lastAttemptAt!: Date | null;
  @ApiProperty({ type: Date, nullable: true })
  deliveredAt!: Date | null;
}

export class ListDeliveriesDto {
  @PageLimit()
  limit?: number;

  /** Empty or absent for the newest deliveries, then `meta.nextCursor`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}

export class DeliveryCursorMeta {
  limit!: number;
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class DeliveryListResponse {
  data!: DeliveryResponse[];
  meta!: DeliveryCursorMeta;
}
