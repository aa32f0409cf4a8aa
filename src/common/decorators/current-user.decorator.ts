import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { KeyPrincipal } from '../../api-keys/api-keys.service';
import type { User } from '../../users/entities/user.entity';

/** The user the JWT guard reloaded for this request. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): User =>
    ctx.switchToHttp().getRequest<FastifyRequest>().user as User,
);

/** The API key this request was authenticated with (id and scopes), or undefined for a session. */
export const CurrentApiKey = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): KeyPrincipal['key'] | undefined =>
    ctx.switchToHttp().getRequest<FastifyRequest>().apiKey,
);
