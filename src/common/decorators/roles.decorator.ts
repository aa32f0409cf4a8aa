import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Role } from '../../users/entities/user.entity';
import { ProblemResponse } from '../problem.response';

export const ROLES_KEY = 'roles';
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** One decorator per intent: who may call the route, and the matching Swagger security notes. */
export const Auth = (...roles: Role[]) =>
  applyDecorators(
    Roles(...roles),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({
      description: 'Missing, expired or invalid access token, or an inactive user',
      type: ProblemResponse,
    }),
    ApiForbiddenResponse({
      description: 'The role may not call this route',
      type: ProblemResponse,
    }),
  );
