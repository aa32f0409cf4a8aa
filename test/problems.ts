import type { Response } from 'supertest';

/** What a stack trace, a source path or SQL would leave in a response body. */
const LEAK_MARKERS = ['    at ', '.ts:', '.js:', 'node_modules', 'dist/src', 'relation'];
const LEAK_PATTERNS = [/stack/i, /\bat \S+ \(|\n\s+at /, /SELECT|INSERT|syntax error/i];

/** No response body ever carries a stack trace, a source location or SQL. */
export function expectNoLeak(res: Response): void {
  const text = res.text ?? '';
  for (const marker of LEAK_MARKERS) expect(text).not.toContain(marker);
  for (const pattern of LEAK_PATTERNS) expect(text).not.toMatch(pattern);
}

/**
 * The contract's error answer: exactly `status`, as RFC 9457 problem+json (type, title, status,
 * detail) carrying the request id of the response, and nothing leaked. With `fields`, the body's
 * `errors` name exactly those fields (a field may appear more than once: one entry per broken
 * rule), each with a message.
 */
export function expectProblem(res: Response, status: number, fields?: readonly string[]): void {
  if (res.status !== status) {
    throw new Error(`expected ${status}, got ${res.status}: ${res.text?.slice(0, 500)}`);
  }
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'about:blank', title: expect.any(String), status });
  expect(typeof res.body.detail).toBe('string');
  expect(typeof res.body.requestId).toBe('string');
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
  expectNoLeak(res);
  if (fields) {
    const errors = (res.body as { errors?: { field: string; message: string }[] }).errors;
    expect(Array.isArray(errors)).toBe(true);
    expect([...new Set(errors!.map((e) => e.field))].sort()).toEqual([...fields].sort());
    for (const e of errors!) expect(typeof e.message).toBe('string');
  }
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

/** The `field` of every entry in a validation problem's `errors`, in order, one per broken rule. */
export function fieldsOf(res: Response): string[] {
  return ((res.body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);
}
