import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../roles';
import { ROLES_KEY, ROUTE_KEY } from '../decorators/roles.decorator';
import { policyOf, refusal, type RouteKey } from '../permissions';

/**
 * Global: a route listing roles with `@Roles()`/`@Auth()` admits only those roles (for an API key,
 * its owner's current role), and a key only if it holds the route's scope: what a key may do is
 * its scopes intersected with its owner's role, so a demotion narrows every key at once.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const key = req.apiKey;
    const route = this.reflector.getAllAndOverride<RouteKey | undefined>(ROUTE_KEY, targets);
    // Fails closed: a key that authenticated on a route without a table entry goes no further.
    if (key !== undefined && route === undefined) {
      throw new ForbiddenException('API keys cannot be used on this route');
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (!roles || roles.length === 0) return true;
    const user = req.user;
    const policy = route === undefined ? { roles, scope: null } : policyOf(route);
    const why = user
      ? refusal(policy, user.role, key?.scopes)
      : 'Your role may not perform this action';
    if (why !== undefined) throw new ForbiddenException(why);
    return true;
  }
}
