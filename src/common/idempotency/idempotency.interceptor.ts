import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { ApiHeader, ApiConflictResponse, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { type Observable, from, of, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import type { User } from '../../users/entities/user.entity';
import { etagOf } from '../etag';
import { ProblemResponse } from '../problem.response';
import { IdempotencyService } from './idempotency.service';

const SUCCESS_STATUS = 'idempotentSuccessStatus';

/** Marks a JSON POST as replay-safe with `Idempotency-Key`; `status` is the route's success code. */
export const Idempotent = (status: number) =>
  applyDecorators(
    SetMetadata(SUCCESS_STATUS, status),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes retries safe: the same key and body within 24 h replay the first response (1-255 printable characters)',
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

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly keys: IdempotencyService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const header = req.headers['idempotency-key'];
    if (header === undefined) return next.handle();
    const key = IdempotencyService.checkKey(header);
    const userId = (req.user as User).id;
    const hash = createHash('sha256')
      .update(JSON.stringify([req.method, req.path, req.body]))
      .digest('hex');
    const claim = await this.keys.claim(userId, key, hash);
    if (claim.kind === 'replay') {
      const { status, body, location } = claim.response;
      res.status(status).setHeader('Idempotent-Replayed', 'true');
      if (location) res.location(location);
      if (body && typeof body === 'object') res.setHeader('ETag', etagOf(body));
      return of(body);
    }
    const status = Reflect.getMetadata(SUCCESS_STATUS, context.getHandler()) as number;
    return next.handle().pipe(
      mergeMap((body: unknown) =>
        from(
          this.keys
            .complete(userId, key, hash, {
              status,
              body,
              location: (res.getHeader('Location') as string | undefined) ?? null,
            })
            .then(() => body),
        ),
      ),
      // A failed request frees its key so the client can retry; the original error still surfaces.
      catchError((error: unknown) =>
        from(this.keys.release(userId, key)).pipe(mergeMap(() => throwError(() => error))),
      ),
    );
  }
}
