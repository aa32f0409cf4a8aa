import { type ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Reflector } from '@nestjs/core';
import {
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  ThrottlerGuard,
  type ThrottlerStorage,
  InjectThrottlerOptions,
  InjectThrottlerStorage,
} from '@nestjs/throttler';
import { clientAddress } from './throttlers';
import type { Request } from 'express';

/**
 * Runs before authentication, so it identifies the caller itself: the `sub` of a correctly signed
 * access token (one bucket per user across all routes), else the client IP.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly jwt: JwtService,
  ) {
    super(options, storage, reflector);
  }

  protected override getTracker(req: Request): Promise<string> {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      try {
        const payload = this.jwt.verify<{ sub: string }>(header.slice(7));
        return Promise.resolve(`user:${payload.sub}`);
      } catch {
        // An invalid token is throttled by IP; the JWT guard rejects it next.
      }
    }
    return Promise.resolve(`ip:${clientAddress(req)}`);
  }

  // Limits are per caller, not per route.
  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    throttlerName: string,
  ): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = String(Math.max(1, Math.ceil(detail.timeToBlockExpire)));
    throw new HttpException(
      {
        message: `Too many requests; retry after ${retryAfter} s`,
        headers: { 'Retry-After': retryAfter },
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
