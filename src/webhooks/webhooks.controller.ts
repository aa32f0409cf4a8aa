import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import type { KeyPrincipal } from '../common/principal';
import { CurrentApiKey, CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import {
  CreateWebhookDto,
  DeliveryListResponse,
  DeliveryResponse,
  ListDeliveriesDto,
  UpdateWebhookDto,
  WebhookListResponse,
  WebhookResponse,
  WebhookWithSecretResponse,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

const NOT_FOUND = { type: ProblemResponse, description: 'No such webhook (or delivery)' };

/**
 * Webhook endpoints (admin). Deliveries follow Standard Webhooks: headers `webhook-id` (the
 * event id), `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
 * `id.timestamp.body` with the secret), a JSON event body; 2xx is success, anything else is
 * retried with exponential backoff and jitter for 24 h.
 */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Register an endpoint; the signing secret is in this response only. */
  @Post()
  @Auth('POST /webhooks')
  @HttpCode(201)
  @ApiCreatedResponse({ type: WebhookWithSecretResponse })
  @ApiValidationResponse('Invalid url (scheme, or a private/loopback address) or event types')
  async create(
    @CurrentUser() actor: User,
    @CurrentApiKey() key: KeyPrincipal['key'] | undefined,
    @Body() dto: CreateWebhookDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<WebhookWithSecretResponse> {
    const created = await this.webhooks.create(actor, dto, key);
    res.header('Location', `/api/v1/webhooks/${created.id}`);
    return created;
  }

  /** List the registered endpoints (never their secrets). */
  @Get()
  @Auth('GET /webhooks')
  @ApiOkResponse({ type: WebhookListResponse })
  async list(): Promise<WebhookListResponse> {
    return { data: await this.webhooks.list() };
  }

  /** One endpoint, with whether it is enabled and since when it has been failing. */
  @Get(':id')
  @Auth('GET /webhooks/{id}')
  @ApiOkResponse({ type: WebhookResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  get(@Param('id', ParseId) id: string): Promise<WebhookResponse> {
    return this.webhooks.get(id);
  }

  /** Change url, events, description or enabled (re-enabling clears the failure streak). */
  @Patch(':id')
  @Auth('PATCH /webhooks/{id}')
  @ApiOkResponse({ type: WebhookResponse })
  @ApiValidationResponse()
  @ApiNotFoundResponse(NOT_FOUND)
  update(
    @Param('id', ParseId) id: string,
    @CurrentApiKey() key: KeyPrincipal['key'] | undefined,
    @Body() dto: UpdateWebhookDto,
  ): Promise<WebhookResponse> {
    return this.webhooks.update(id, dto, key);
  }

  /** Delete an endpoint and its delivery log; nothing more is sent to it. */
  @Delete(':id')
  @Auth('DELETE /webhooks/{id}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its delivery log' })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  async remove(@Param('id', ParseId) id: string): Promise<void> {
    await this.webhooks.remove(id);
  }

  /** A new secret, effective at once (shown only in this response). */
  @Post(':id/rotate-secret')
  @Auth('POST /webhooks/{id}/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({ type: WebhookWithSecretResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  rotateSecret(@Param('id', ParseId) id: string): Promise<WebhookWithSecretResponse> {
    return this.webhooks.rotateSecret(id);
  }

  /** Send a signed `webhook.ping` now and answer with the attempt (not retried). */
  @Post(':id/ping')
  @Auth('POST /webhooks/{id}/ping')
  @HttpCode(200)
  @ApiOkResponse({ type: DeliveryResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  ping(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<DeliveryResponse> {
    return this.webhooks.ping(actor, id);
  }

  /** The delivery log, newest first, cursor-paged. */
  @Get(':id/deliveries')
  @Auth('GET /webhooks/{id}/deliveries')
  @ApiOkResponse({ type: DeliveryListResponse })
  @ApiValidationResponse('The id is not a UUID, or a forged cursor')
  @ApiNotFoundResponse(NOT_FOUND)
  deliveries(
    @Param('id', ParseId) id: string,
    @Query() q: ListDeliveriesDto,
  ): Promise<DeliveryListResponse> {
    return this.webhooks.deliveries(id, q);
  }

  /** Deliver again now (whatever its state); its 24 h retry window starts again. */
  @Post(':id/deliveries/:deliveryId/retry')
  @Auth('POST /webhooks/{id}/deliveries/{deliveryId}/retry')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: DeliveryResponse })
  @ApiValidationResponse('An id is not a UUID')
  @ApiNotFoundResponse(NOT_FOUND)
  retry(
    @Param('id', ParseId) id: string,
    @Param('deliveryId', ParseId) deliveryId: string,
  ): Promise<DeliveryResponse> {
    return this.webhooks.retry(id, deliveryId);
  }
}
