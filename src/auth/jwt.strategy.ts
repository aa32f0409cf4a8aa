import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/app-config';
import type { User } from '../users/entities/user.entity';
import { UsersService } from '../users/users.service';

export const JWT_ISSUER = 'finance-api';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor(
    config: AppConfig,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands this straight to jsonwebtoken.verify, which takes a KeyObject; its
      // typings only list string | Buffer.
      secretOrKey: config.jwtKey as unknown as Buffer,
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_ISSUER,
      ignoreExpiration: false,
    });
  }

  // Reloaded on every request, so deactivation and role changes apply at once.
  async validate(payload: { sub?: unknown }): Promise<User | false> {
    if (typeof payload.sub !== 'string' || !/^[0-9a-f-]{36}$/i.test(payload.sub)) return false;
    return (await this.users.findActiveById(payload.sub)) ?? false;
  }
}
