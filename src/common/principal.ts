import type { Actor } from './access';
import type { Scope } from './permissions';

/**
 * What the guards in common/ need from the api-keys module, as an interface they depend on and
 * that module implements: common/ imports no feature module, or every feature that imports
 * common/ would sit in one import cycle with api-keys (and, through it, users and audit).
 */

/** An API key as the roles guard sees it: which key, and the scopes it holds. */
export interface ApiKeyGrant {
  id: string;
  scopes: readonly Scope[];
}

/** Who is calling with a key (the key's owner, as loaded for this request), and what the key allows. */
export interface KeyPrincipal {
  user: Actor;
  key: ApiKeyGrant;
}

/** Every API key starts `fin_`: a bearer token that does is a key, never an access token. */
export const isApiKey = (token: string): boolean => token.startsWith('fin_');

export interface ApiKeyAuthenticator {
  /**
   * The caller behind `key`, looked up once per request (the throttler and the authentication
   * guard both ask), or undefined when the key authenticates nobody.
   */
  authenticateOnce(req: object, key: string): Promise<KeyPrincipal | undefined>;
}

/** Injection token of the `ApiKeyAuthenticator`; the api-keys module provides and exports it. */
export const API_KEY_AUTHENTICATOR = Symbol('API_KEY_AUTHENTICATOR');
