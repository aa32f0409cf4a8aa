import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fullFormats } from 'ajv-formats/dist/formats';
import OpenAPIResponseValidator from 'openapi-response-validator';
import request, { type Response } from 'supertest';

/**
 * Every response an e2e test receives from a documented operation is checked against the
 * committed openapi.json (which openapi.e2e-spec.ts proves equal to what the server serves):
 * the status must be documented, the media type must be one the document lists for that status,
 * and a JSON body must satisfy its schema (openapi-response-validator, formats included). A
 * mismatch fails the request's test. Undocumented routes (health, docs, unknown paths) are not
 * checked: the contract says nothing about them.
 */

interface MediaTypeObject {
  schema?: object;
}
interface ResponseObject {
  description: string;
  content?: Record<string, MediaTypeObject>;
}
interface Operation {
  method: string;
  path: string;
  pattern: RegExp;
  templated: number;
  responses: Record<string, ResponseObject>;
}

const document = JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: object;
};

const operations: Operation[] = Object.entries(document.paths)
  .flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method,
      path,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      templated: (path.match(/\{/g) ?? []).length,
      responses: op.responses,
    })),
  )
  // A literal segment wins over a parameter: /transactions/export before /transactions/{id}.
  .sort((a, b) => a.templated - b.templated);

/** ajv-formats' checks, in the shape openapi-response-validator takes (a predicate per name). */
function predicate(format: unknown): (value: unknown) => boolean {
  const check =
    typeof format === 'object' && format !== null && 'validate' in format
      ? format.validate
      : format;
  if (check instanceof RegExp) return (value) => check.test(String(value));
  if (typeof check === 'function') {
    const validate = check as (value: string) => boolean;
    return (value) => validate(String(value));
  }
  return () => true;
}
const customFormats = Object.fromEntries(
  Object.entries(fullFormats).map(([name, format]) => [name, predicate(format)]),
);

const validators = new Map<string, OpenAPIResponseValidator>();
function validatorFor(status: string, mediaType: string, schema: object): OpenAPIResponseValidator {
  const key = JSON.stringify([status, mediaType, schema]);
  let validator = validators.get(key);
  if (!validator) {
    // The library reads the first media type of a response, so each gets a validator of its own;
    // it also rewrites the schemas it is given, hence the copies.
    validator = new OpenAPIResponseValidator({
      responses: { [status]: { description: '', content: { [mediaType]: { schema } } } },
      components: structuredClone(document.components),
      customFormats,
    } as unknown as ConstructorParameters<typeof OpenAPIResponseValidator>[0]);
    validators.set(key, validator);
  }
  return validator;
}

const isJson = (mediaType: string) => /[/+]json$/.test(mediaType);

/** What the check reads of a response: supertest's, or one a fetch client received. */
export interface ReceivedResponse {
  status: number;
  headers: Record<string, string | undefined>;
  /** The parsed body for JSON media types. */
  body: unknown;
  text?: string;
}

/** What is wrong with this response for the documented operation, or [] when it matches. */
export function contractViolations(method: string, url: string, res: ReceivedResponse): string[] {
  const path = new URL(url, 'http://x').pathname;
  const operation = operations.find((op) => op.method === method && op.pattern.test(path));
  if (!operation) return [];
  const status = String(res.status);
  const documented = operation.responses[status] ?? operation.responses.default;
  if (!documented) return [`status ${status} is not documented`];
  const mediaType = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const content = documented.content;
  if (!content) {
    return mediaType || res.text
      ? [`${status} is documented without a body, got ${mediaType}`]
      : [];
  }
  const media = content[mediaType];
  if (!media) {
    return [
      `${status} as ${mediaType || 'no content type'}; documented: ${Object.keys(content).join(', ')}`,
    ];
  }
  if (!isJson(mediaType) || !media.schema) return [];
  const body: unknown = structuredClone(res.body);
  const error = validatorFor(status, mediaType, media.schema).validateResponse(status, body);
  const errors = (error?.errors ?? []) as { path?: string; message: string }[];
  return errors.map((e) => `${e.path || 'body'}: ${e.message}`);
}

export function expectContract(method: string, url: string, res: ReceivedResponse): void {
  const violations = contractViolations(method, url, res);
  if (violations.length === 0) return;
  throw new Error(
    `${method.toUpperCase()} ${url} → ${res.status}: the response does not match openapi.json\n` +
      violations.map((v) => `  - ${v}`).join('\n') +
      `\nbody: ${(res.text ?? '').slice(0, 500)}`,
  );
}

type Agent = ReturnType<typeof request>;

/** supertest against `url`, with every request's response checked by `expectContract`. */
export function contractCheckedRequest(url: string): Agent {
  const agent = request(url) as unknown as Record<string, unknown>;
  const checked: Record<string, unknown> = {};
  for (const [name, make] of Object.entries(agent)) {
    if (typeof make !== 'function') continue;
    const method = name === 'del' ? 'delete' : name;
    checked[name] = (path: string) =>
      (make as (path: string) => request.Test)(path).expect((res: Response) =>
        expectContract(method, path, res),
      );
  }
  return checked as unknown as Agent;
}
