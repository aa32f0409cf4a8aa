import {
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  ThrottlerGuard,
  type ThrottlerStorage,
  InjectThrottlerOptions,
  InjectThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_AUTHENTICATOR, type ApiKeyAuthenticator } from '../principal';
import { JwtAuthGuard } from './jwt-auth.guard';
import { clientAddress } from './throttlers';

interface Bucket {
  limit: number;
  remaining: number;
  /** Seconds until the window resets (or, once blocked, until the block ends). */
  reset: number;
}

/**
 * Reports a bucket in the RateLimit-* headers of docs/api.md section 7, unless the response already
 * reports one with fewer requests left (ties: the later reset). Login counts against three limits;
 * a client that paces itself by these headers then never meets a 429 it was not warned of.
 */
function report(res: FastifyReply, bucket: Bucket): void {
  const shown = res.getHeader('RateLimit-Remaining');
  if (shown !== undefined) {
    const remaining = Number(shown);
    const reset = Number(res.getHeader('RateLimit-Reset'));
    if (remaining < bucket.remaining) return;
    if (remaining === bucket.remaining && reset >= bucket.reset) return;
  }
  res.headers({
    'RateLimit-Limit': String(bucket.limit),
    'RateLimit-Remaining': String(bucket.remaining),
    'RateLimit-Reset': String(bucket.reset),
  });
}

/**
 * Runs before authorisation and identifies the caller through the authentication's
 * once-per-request answers: a live API key has its own bucket, the active user of a valid access
 * token one bucket per user across all routes, else the IP. The caller is looked up, not taken
 * from what the client sent, because a bucket named by a made-up `fin_` string or token `sub`
 * would let an anonymous caller escape the per-IP limit with a fresh one on every request.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(API_KEY_AUTHENTICATOR) private readonly keys: ApiKeyAuthenticator,
    private readonly auth: JwtAuthGuard,
  ) {
    super(options, storage, reflector);
  }

  protected override async getTracker(
    req: FastifyRequest,
    context?: ExecutionContext,
  ): Promise<string> {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer fin_')) {
      const principal = await this.keys.authenticateOnce(req, header.slice(7));
      return principal ? `key:${principal.key.id}` : `ip:${clientAddress(req)}`;
    }
    // `context` is always passed by handleRequest below; the base signature has it optional.
    if (header?.startsWith('Bearer ') && context) {
      try {
        return `user:${(await this.auth.tokenUser(context)).id}`;
      } catch {
        // An invalid token is throttled by IP; the JWT guard rejects it next.
      }
    }
    return `ip:${clientAddress(req)}`;
  }

  /**
   * The library's version, minus its headers: it writes X-RateLimit-* once per throttler (with the
   * throttler's name appended), while the contract has one RateLimit-* set for the caller's bucket.
   * Counting and blocking stay with the storage; `ignoreUserAgents` is not used here.
   */
  protected override async handleRequest({
    context,
    limit,
    ttl,
    throttler,
    blockDuration,
    getTracker,
    generateKey,
  }: ThrottlerRequest): Promise<boolean> {
    const { req, res } = this.getRequestResponse(context);
    const name = throttler.name ?? 'default';
    const tracker = await getTracker(req, context);
    const key = generateKey(context, tracker, name);
    const record = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    report(res as FastifyReply, {
      limit,
      remaining: Math.max(0, limit - record.totalHits),
      reset: record.isBlocked ? record.timeToBlockExpire : record.timeToExpire,
    });
    if (record.isBlocked) {
      await this.throwThrottlingException(context, { limit, ttl, key, tracker, ...record });
    }
    return true;
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
