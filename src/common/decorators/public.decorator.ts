import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOperation } from '@nestjs/swagger';
import { policyOf, type RouteKey } from '../permissions';
import { ProblemResponse } from '../problem.response';
import { Route } from './roles.decorator';

export const IS_PUBLIC_KEY = 'isPublic';

/**
 * Opts a route out of authentication (login, refresh, health). On a method it also writes
 * `security: []` into the OpenAPI operation, so the spec says "no token needed" explicitly
 * instead of leaving the requirement undefined; a method names its permission-table entry, where
 * it says whether an API key is refused there.
 */
export const Public =
  (route?: RouteKey): ClassDecorator & MethodDecorator =>
  (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      applyDecorators(
        SetMetadata(IS_PUBLIC_KEY, true),
        ApiOperation({ security: [] }),
        ...(route ? [Route(route)] : []),
        // The authentication guard answers an API key here with 403 (keys never reach /auth/*),
        // even though the route needs no credentials at all: the document must say so.
        ...(route && policyOf(route).scope === null
          ? [
              ApiForbiddenResponse({
                description: 'An API key was sent (keys are refused here)',
                type: ProblemResponse,
              }),
            ]
          : []),
      )(target, key, descriptor);
      return;
    }
    SetMetadata(IS_PUBLIC_KEY, true)(target as () => void);
  };
