import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/app-config';
import type { User } from '../users/entities/user.entity';
import { UsersService } from '../users/users.service';
import { type AccessPayload, VerifiedTokens } from './verified-tokens';

export const JWT_ISSUER = 'finance-api';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  private readonly verified = new VerifiedTokens();

  constructor(
    config: AppConfig,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: bearerToken,
      // passport-jwt hands this straight to jsonwebtoken.verify, which takes a KeyObject; its
      // typings only list string | Buffer.
      secretOrKey: config.jwtKey as unknown as Buffer,
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_ISSUER,
      ignoreExpiration: false,
      passReqToCallback: true,
    });
  }

  /**
   * A token verified before and not yet expired skips jsonwebtoken (verified-tokens.ts); any
   * other goes through passport-jwt's full check. Runs on passport's per-request copy of the
   * strategy, which carries `success`, `fail` and `error`.
   */
  override authenticate(req: Request, options?: unknown): void {
    const token = bearerToken(req);
    const payload = token === null ? undefined : this.verified.get(token);
    if (payload === undefined) return super.authenticate(req, options);
    this.userOf(payload).then(
      (user) => (user ? this.success(user) : this.fail(401)),
      (error: Error) => this.error(error),
    );
  }

  /** After passport-jwt verified the token's signature and claims. */
  async validate(req: Request, payload: AccessPayload): Promise<User | false> {
    const token = bearerToken(req);
    if (token !== null) this.verified.remember(token, payload);
    return this.userOf(payload);
  }

  // Reloaded on every request, so deactivation and role changes apply at once.
  private async userOf(payload: AccessPayload): Promise<User | false> {
    if (typeof payload.sub !== 'string' || !/^[0-9a-f-]{36}$/i.test(payload.sub)) return false;
    return (await this.users.findActiveById(payload.sub)) ?? false;
  }
}
