import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../access';
import type { ApiKeyGrant } from '../principal';

/**
 * The user the JWT guard reloaded for this request: the users module's entity, which controllers
 * declare as such; typed by what common/ knows of it, since common/ imports no feature.
 */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Actor =>
    ctx.switchToHttp().getRequest<FastifyRequest>().user as Actor,
);

/** The API key this request was authenticated with (id and scopes), or undefined for a session. */
export const CurrentApiKey = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): ApiKeyGrant | undefined =>
    ctx.switchToHttp().getRequest<FastifyRequest>().apiKey,
);
