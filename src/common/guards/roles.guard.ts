import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Role, User } from '../../users/entities/user.entity';
import { ROLES_KEY } from '../decorators/roles.decorator';

/** Global: a route listing roles with `@Roles()`/`@Auth()` admits only those roles. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles || roles.length === 0) return true;
    const user = context.switchToHttp().getRequest<Request>().user as User | undefined;
    if (user && roles.includes(user.role)) return true;
    throw new ForbiddenException('Your role may not perform this action');
  }
}
