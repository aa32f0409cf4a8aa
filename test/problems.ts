import type { Response } from 'supertest';

/** What a stack trace, a source path or SQL would leave in a response body. */
const LEAK_MARKERS = [
  '    at ',
  '.ts:',
  '.js:',
  'node_modules',
  'SELECT',
  'syntax error',
  'relation',
];

/** No response body ever carries a stack trace, a source location or SQL. */
export function expectNoLeak(res: Response): void {
  const text = res.text ?? '';
  for (const marker of LEAK_MARKERS) expect(text).not.toContain(marker);
  expect(text).not.toMatch(/\bstack\b/i);
}

/**
 * The contract's error answer: exactly `status`, as RFC 9457 problem+json carrying the request
 * id of the response, and nothing leaked.
 */
export function expectProblem(res: Response, status: number): void {
  if (res.status !== status) {
    throw new Error(`expected ${status}, got ${res.status}: ${res.text?.slice(0, 500)}`);
  }
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'about:blank', status });
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
  expectNoLeak(res);
}

/** The fields that vary per request removed, so two problem bodies can be compared. */
export function problemCore(res: Response): Record<string, unknown> {
  const {
    requestId: _requestId,
    instance: _instance,
    ...rest
  } = res.body as Record<string, unknown>;
  return rest;
}

/** The `field` of every entry in a validation problem's `errors`. */
export function fieldsOf(res: Response): string[] {
  return ((res.body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);
}
