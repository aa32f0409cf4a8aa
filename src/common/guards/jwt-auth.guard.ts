import {
  type ExecutionContext,
  HttpException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';

/** Global: every route needs a valid access token unless it is marked `@Public()`. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    return isPublic ? true : super.canActivate(context);
  }

  // One generic 401 whatever went wrong (missing, expired, forged token, inactive user).
  override handleRequest<TUser>(err: unknown, user: TUser | false): TUser {
    // Failing to load the user (the database is down) is the server's fault, not the token's: a
    // 401 would tell every client to drop its session during an outage. It surfaces as a 5xx.
    if (err instanceof Error && !(err instanceof HttpException)) throw err;
    if (err || !user) throw new UnauthorizedException('Authentication required');
    return user;
  }
}
