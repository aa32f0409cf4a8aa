import {
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../access';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';
import { ROUTE_KEY } from '../decorators/roles.decorator';
import { policyOf, type RouteKey } from '../permissions';
import { API_KEY_AUTHENTICATOR, type ApiKeyAuthenticator, isApiKey } from '../principal';
import { currentRequest } from '../request-context';

const bearer = (req: FastifyRequest): string | undefined => {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
};

/**
 * Global: every route needs a valid access token or API key unless it is marked `@Public()`.
 * Access tokens go through passport-jwt; an API key (`Bearer fin_…`) through its service. A key
 * on a route whose policy refuses keys (`/auth/*`, `/api-keys`) is a 403 before it is even looked
 * up, so a leaked key can neither mint keys nor change a password.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    @Inject(API_KEY_AUTHENTICATOR) private readonly keys: ApiKeyAuthenticator,
  ) {
    super();
  }

  /** Per request: the outcome of checking its access token (the throttler asks first). */
  private readonly perRequest = new WeakMap<object, Promise<Actor>>();

  /**
   * The user a `Bearer` access token names, checked once per request: the throttler needs the
   * caller before this guard runs, and verifying the signature and loading the user twice cost
   * ~6 % of a cheap read (bench --cpu-prof). Rejects like passport does (401, or the database's
   * error).
   */
  tokenUser(context: ExecutionContext): Promise<Actor> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    let outcome = this.perRequest.get(req);
    if (outcome === undefined) {
      // passport has set `req.user` once it resolves (handleRequest rejects otherwise).
      outcome = (super.canActivate(context) as Promise<boolean>).then(() => req.user as Actor);
      // Whoever asks later sees the rejection; until then it is not "unhandled".
      outcome.catch(() => undefined);
      this.perRequest.set(req, outcome);
    }
    return outcome;
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets);
    const route = this.reflector.getAllAndOverride<RouteKey | undefined>(ROUTE_KEY, targets);
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearer(req);
    if (token !== undefined && isApiKey(token)) {
      if (route !== undefined && policyOf(route).scope === null) {
        throw new ForbiddenException(
          policyOf(route).keysRefused ?? 'API keys cannot be used on this route; sign in instead',
        );
      }
      if (isPublic) return true;
      const principal = await this.keys.authenticateOnce(req, token);
      if (!principal) throw new UnauthorizedException('Authentication required');
      req.user = principal.user;
      req.apiKey = principal.key;
      const ctx = currentRequest();
      if (ctx) ctx.apiKeyId = principal.key.id;
      return true;
    }
    if (isPublic) return true;
    await this.tokenUser(context);
    return true;
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
