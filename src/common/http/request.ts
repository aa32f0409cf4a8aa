import type { Actor } from '../access';
import type { ApiKeyGrant } from '../principal';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the JWT guard (passport's `user` property) or from an API key. */
    user?: Actor;
    /** The API key the request was authenticated with, for the roles guard's scope check. */
    apiKey?: ApiKeyGrant;
  }
}

/** The path of a request, without its query string. */
export const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};
