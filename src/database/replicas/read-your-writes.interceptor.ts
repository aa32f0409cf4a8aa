import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { catchError, concatMap, type Observable } from 'rxjs';
import { currentRequest } from '../../common/request-context';
import { ReadRouting } from './read-routing';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Names the caller for the read routing (the guards have run by now), and after a write request
 * stores the primary's WAL position for that caller, and for every user whose data the write
 * changed (touchedUser), before the response leaves: their next reads, on whichever instance,
 * then wait for a replica that has replayed it. Failed writes count
 * too, since some commit before they fail (an audit entry, a partial import).
 */
@Injectable()
export class ReadYourWritesInterceptor implements NestInterceptor {
  constructor(private readonly routing: ReadRouting) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.routing.enabled || context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const callerId = req.user?.id;
    if (!callerId) return next.handle();
    const request = currentRequest();
    if (request) request.callerId = callerId;
    if (SAFE_METHODS.has(req.method)) return next.handle();
    const note = () =>
      this.routing
        .noteWrite([callerId, ...(request?.touchedUserIds ?? [])])
        .catch(() => undefined);
    return next.handle().pipe(
      concatMap(async (value: unknown) => {
        await note();
        return value;
      }),
      catchError(async (error: unknown) => {
        await note();
        throw error;
      }),
    );
  }
}
