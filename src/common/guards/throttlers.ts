import { type ExecutionContext, SetMetadata } from '@nestjs/common';
import { normalizeIp, type ThrottlerOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';

const LOGIN_THROTTLE = 'loginThrottle';
/** Marks the login route for the stricter per-IP+email and per-IP limits. */
export const LoginThrottle = () => SetMetadata(LOGIN_THROTTLE, true);

const notLogin = (ctx: ExecutionContext) =>
  Reflect.getMetadata(LOGIN_THROTTLE, ctx.getHandler()) !== true;

/**
 * The caller's address for per-IP limits. An IPv6 client usually holds a whole /64, so limits
 * apply to the /64 (the library's default tracker does the same); IPv4 addresses stay as they are.
 */
export const clientAddress = (req: FastifyRequest): string => normalizeIp(req.ip);

const loginEmail = (req: FastifyRequest) => {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase().slice(0, 254) : '';
};

/**
 * The configured limits (AppConfig's `throttle`: window seconds, requests per window), declared
 * here because config/ imports common/, never the reverse.
 */
export interface ThrottleLimits {
  ttl: number;
  limit: number;
  loginLimit: number;
  loginIpLimit: number;
}

/** The three limits of the contract: per caller overall, and two on login attempts. */
export function throttlers(config: { throttle: ThrottleLimits }): ThrottlerOptions[] {
  return [
    { name: 'default', ttl: config.throttle.ttl * 1000, limit: config.throttle.limit },
    {
      name: 'login',
      ttl: 60_000,
      limit: config.throttle.loginLimit,
      skipIf: notLogin,
      getTracker: (req) =>
        `${clientAddress(req as FastifyRequest)}|${loginEmail(req as FastifyRequest)}`,
    },
    {
      name: 'loginIp',
      ttl: 60_000,
      limit: config.throttle.loginIpLimit,
      skipIf: notLogin,
      getTracker: (req) => `ip:${clientAddress(req as FastifyRequest)}`,
    },
  ];
}
