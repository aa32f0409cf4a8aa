import type { KeyPrincipal } from '../../api-keys/api-keys.service';
import type { User } from '../../users/entities/user.entity';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the JWT guard (passport's `user` property) or from an API key. */
    user?: User;
    /** The API key the request was authenticated with, for the roles guard's scope check. */
    apiKey?: KeyPrincipal['key'];
  }
}

/** The path of a request, without its query string. */
export const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};
