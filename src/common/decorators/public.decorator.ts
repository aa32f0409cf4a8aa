import { SetMetadata } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';

export const IS_PUBLIC_KEY = 'isPublic';

/**
 * Opts a route out of the global JWT guard (login, refresh, health). On a method it also writes
 * `security: []` into the OpenAPI operation, so the spec says "no token needed" explicitly
 * instead of leaving the requirement undefined.
 */
export const Public =
  (): ClassDecorator & MethodDecorator =>
  (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      SetMetadata(IS_PUBLIC_KEY, true)(target, key!, descriptor);
      ApiOperation({ security: [] })(target, key!, descriptor);
      return;
    }
    SetMetadata(IS_PUBLIC_KEY, true)(target as () => void);
  };
