import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, operations, paths } from './schema';
/** The API's named schemas: `Schemas['TransactionResponse']`, `Schemas['ProblemResponse']`, … */
export type Schemas = components['schemas'];
export type FinanceClient = Client<paths>;

export interface FinanceClientOptions extends ClientOptions {
  /** Called before each request; its token, when there is one, goes out as `Authorization: Bearer`. */
  accessToken?: () => string | undefined;
}

/**
 * A typed client for the Finance API: openapi-fetch over the types openapi-typescript generated
 * from openapi.json (`schema.d.ts`; `npm run openapi` regenerates it). Paths, parameters, bodies
 * and responses are checked by the compiler; errors arrive as `error` (the problem+json body).
 *
 *   const api = createFinanceClient({ baseUrl: 'http://localhost:3000', accessToken: () => token });
 *   const { data, error } = await api.GET('/api/v1/transactions', { params: { query: { limit: 20 } } });
 */
export function createFinanceClient({
  accessToken,
  ...options
}: FinanceClientOptions = {}): FinanceClient {
  const client = createClient<paths>(options);
  if (accessToken) {
    client.use({
      onRequest({ request }) {
        const token = accessToken();
        if (token) request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}
