import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROUTES, type RouteKey, type RoutePolicy } from '../../src/common/permissions';
import { startApp, type TestApp } from '../app';

const ROOT = join(__dirname, '..', '..');
const SPEC = join(ROOT, 'openapi.json');
const CLIENT_TYPES = join(ROOT, 'clients', 'typescript', 'schema.d.ts');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
const run = promisify(execFile);

/**
 * The committed openapi.json is what client generators consume. It must equal what the code
 * generates (`npm run openapi` rewrites it) and pass Redocly's recommended rules.
 */
describe('OpenAPI document', () => {
  let app: TestApp;
  let served: Record<string, unknown>;

  beforeAll(async () => {
    app = await startApp();
    served = (await app.http().get('/docs-json').expect(200)).body as Record<string, unknown>;
    if (process.env.UPDATE_OPENAPI === '1')
      writeFileSync(SPEC, `${JSON.stringify(served, null, 2)}\n`);
  });
  afterAll(() => app.stop());

  it('matches the committed openapi.json (run `npm run openapi` after changing the API)', () => {
    const committed = JSON.parse(readFileSync(SPEC, 'utf8')) as unknown;
    expect(served).toEqual(committed);
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await app.http().get('/docs').expect(200);
    expect(res.text).toContain('swagger');
  });

  it('documents every route of the permission table, each under its own key, with its security', () => {
    const paths = served.paths as Record<
      string,
      Record<string, { security?: unknown[]; 'x-route'?: string }>
    >;
    const operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    );
    const seen = operations.map(({ path, method, op }) => {
      expect(path.startsWith('/api/v1/')).toBe(true);
      // A route decorated with another route's key would be enforced by the wrong table row.
      const key = `${method.toUpperCase()} ${path.slice('/api/v1'.length)}`;
      expect(op['x-route']).toBe(key);
      const policy = ROUTES[key as RouteKey] as RoutePolicy;
      const expected =
        policy.roles.length === 0
          ? []
          : policy.scope === null
            ? [{ bearer: [] }]
            : [{ bearer: [] }, { apiKey: [] }];
      expect(op.security).toEqual(expected);
      return key;
    });
    expect(seen.sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it('passes `redocly lint --extends=recommended` without errors or warnings', async () => {
    const result = await run(
      bin('redocly'),
      ['lint', '--extends=recommended', '--format=json', SPEC],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; code?: number }) => ({
      stdout: error.stdout ?? '',
      code: error.code,
    }));
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string; location: unknown }[];
    };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('names every operation with a unique camelCase verb + resource (what generated clients expose)', () => {
    const paths = served.paths as Record<string, Record<string, { operationId?: string }>>;
    const ids = Object.values(paths).flatMap((ops) =>
      Object.values(ops).map((op) => op.operationId),
    );
    for (const id of ids) expect(id).toMatch(/^[a-z]+[A-Za-z]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['login', 'listTransactions', 'getDashboardSummary']),
    );
  });

  it('has the typed client in clients/typescript generated from it (`npm run openapi` regenerates it)', async () => {
    const generated = join(mkdtempSync(join(tmpdir(), 'finance-client-')), 'schema.d.ts');
    await run(bin('openapi-typescript'), [SPEC, '--output', generated]);
    if (process.env.UPDATE_OPENAPI === '1') copyFileSync(generated, CLIENT_TYPES);
    expect(readFileSync(CLIENT_TYPES, 'utf8')).toBe(readFileSync(generated, 'utf8'));
  });
});
