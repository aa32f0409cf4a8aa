import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtension,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Role } from '../roles';
import { policyOf, type RouteKey } from '../permissions';
import { ProblemResponse } from '../problem.response';

export const ROLES_KEY = 'roles';
export const ROUTE_KEY = 'route';
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** The route's entry in the permission table (`permissions.ts`), for the guards and the OpenAPI document. */
export const Route = (route: RouteKey) =>
  applyDecorators(SetMetadata(ROUTE_KEY, route), ApiExtension('x-route', route));

/**
 * One decorator per route: its entry in the permission table, which the roles guard enforces
 * (roles, and for an API key its scope), and the matching OpenAPI security and error notes.
 */
export const Auth = (route: RouteKey) => {
  const policy = policyOf(route);
  return applyDecorators(
    Route(route),
    Roles(...policy.roles),
    ApiBearerAuth(),
    ...(policy.scope ? [ApiSecurity('apiKey')] : []),
    ApiUnauthorizedResponse({
      description:
        'Missing, expired or invalid access token or API key, revoked key, or an inactive user',
      type: ProblemResponse,
    }),
    ApiForbiddenResponse({
      description: policy.scope
        ? 'The role may not call this route, or the API key lacks the scope'
        : 'The role may not call this route, or an API key was used (keys are refused here)',
      type: ProblemResponse,
    }),
  );
};
