import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
  applyDecorators,
  createParamDecorator,
} from '@nestjs/common';
import { ApiHeader, ApiConflictResponse, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pathOf } from '../common/http/request';
import { createHash } from 'node:crypto';
import { type Observable, from, of, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import type { User } from '../users/entities/user.entity';
import { etagOf } from '../common/etag';
import { ProblemResponse } from '../common/problem.response';
import { type HeldClaim, IdempotencyService } from './idempotency.service';

const CLAIM = Symbol('idempotencyClaim');

/**
 * Marks a JSON POST as replay-safe with `Idempotency-Key`. The interceptor claims the key and
 * replays finished requests; the handler receives the claim through `@HeldIdempotencyClaim()` and
 * must store its response with `IdempotencyService.complete` inside the transaction of its write.
 */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes retries safe: the same key and body within 24 h replay the first response (1-255 printable characters). A claim whose request died is taken over by a retry after IDEMPOTENCY_LEASE (60 s)',
    }),
    ApiConflictResponse({
      type: ProblemResponse,
      description: 'A request with the same Idempotency-Key is still in progress',
    }),
    ApiUnprocessableEntityResponse({
      type: ProblemResponse,
      description: 'The Idempotency-Key was used with another body',
    }),
  );

/** The claim the interceptor took for this request, or undefined without `Idempotency-Key`. */
export const HeldIdempotencyClaim = createParamDecorator(
  (_data: unknown, context: ExecutionContext): KeyedClaim | undefined =>
    context.switchToHttp().getRequest<FastifyRequest & { [CLAIM]?: KeyedClaim }>()[CLAIM],
);

/** A held claim plus the hash of the request it was claimed for. */
export interface KeyedClaim extends HeldClaim {
  hash: string;
}

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly keys: IdempotencyService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<FastifyRequest & { [CLAIM]?: KeyedClaim }>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const header = req.headers['idempotency-key'];
    if (header === undefined) return next.handle();
    const key = IdempotencyService.checkKey(header);
    const userId = (req.user as User).id;
    const hash = createHash('sha256')
      .update(JSON.stringify([req.method, pathOf(req.url), req.body]))
      .digest('hex');
    const claim = await this.keys.claim(userId, key, hash);
    if (claim.kind === 'replay') {
      const { status, body, location } = claim.response;
      res.status(status).header('Idempotent-Replayed', 'true');
      if (location) res.header('Location', location);
      if (body && typeof body === 'object') res.header('ETag', etagOf(body));
      return of(body);
    }
    req[CLAIM] = { ...claim.claim, hash };
    return next.handle().pipe(
      // A failed request frees its key so the client can retry; the original error still surfaces.
      catchError((error: unknown) =>
        from(this.keys.release(claim.claim)).pipe(mergeMap(() => throwError(() => error))),
      ),
    );
  }
}
