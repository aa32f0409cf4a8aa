import { get, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startApp, type TestApp } from '../app';

/**
 * How the web dashboard is served (docs/web.md): the page under a strict CSP and revalidated on
 * every load, its content-hashed assets cached for a year, Brotli or gzip as the browser accepts,
 * nothing inline, nothing in the OpenAPI document, and nothing at all with UI_ENABLED=false. What
 * the page does is tested in a real browser (test/browser).
 */
interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that leaves the body as sent (supertest and fetch would decompress it). */
function raw(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('web dashboard (GET /)', () => {
  let app: TestApp;
  let page: Raw;
  let links: string[];
  let assets: string[];

  beforeAll(async () => {
    app = await startApp();
    page = await raw(`${app.url}/`);
    const html = page.body.toString('utf8');
    links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assets = links.filter((link) => !link.startsWith('#'));
  });
  afterAll(() => app.stop());

  it('serves the page as HTML under a Content-Security-Policy of this origin only, with Trusted Types', () => {
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    const directives = Object.fromEntries(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives).toMatchObject({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'object-src': "'none'",
      'base-uri': "'none'",
      'frame-ancestors': "'none'",
      'require-trusted-types-for': "'script'",
      'trusted-types': "'none'",
    });
    expect(csp).not.toMatch(/unsafe|https:|data:|\*/);
  });

  it('has no inline script or style, and names only its own assets', () => {
    const html = page.body.toString('utf8');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    // The skip link, then the icon, the style sheet and the script.
    expect(links.filter((link) => link.startsWith('#'))).toEqual(['#main']);
    expect(assets.length).toBe(3);
    for (const asset of assets)
      expect(asset).toMatch(/^\/assets\/[a-z-]+-[A-Za-z0-9]{8}\.(js|css|svg)$/);
  });

  it('has the page revalidated on every load: no-cache, and a 304 for its ETag', async () => {
    expect(page.headers['cache-control']).toBe('no-cache');
    const etag = String(page.headers.etag);
    const again = await raw(`${app.url}/`, { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toHaveLength(0);
  });

  it('serves each content-hashed asset with its type, cached for a year as immutable', async () => {
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    for (const asset of assets) {
      const res = await raw(`${app.url}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers['content-type']).toBe(types[asset.split('.').pop()!]);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.body.length).toBeGreaterThan(100);
    }
  });

  it('sends Brotli or gzip as the browser accepts them, the same bytes once decoded', async () => {
    const script = assets.find((a) => a.endsWith('.js'))!;
    const plain = await raw(`${app.url}${script}`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const br = await raw(`${app.url}${script}`, { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    expect(br.body.length).toBeLessThan(plain.body.length / 2);
    const gzip = await raw(`${app.url}${script}`, { 'Accept-Encoding': 'br;q=0, gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);
    expect(br.headers.etag).not.toBe(plain.headers.etag);
  });

  it('serves the page and its assets whatever query string a link carries', async () => {
    const withQuery = await raw(`${app.url}/?utm_source=mail&x=1`);
    expect(withQuery.status).toBe(200);
    expect(withQuery.body.equals(page.body)).toBe(true);
    expect((await raw(`${app.url}${assets[0]}?v=2`)).status).toBe(200);
  });

  it('answers an unknown asset, or a path out of the assets, with a 404 problem', async () => {
    for (const path of [
      '/assets/app-00000000.js',
      '/assets/..%2Fpackage.json',
      '/assets/%2e%2e%2findex.html',
    ]) {
      const res = await raw(`${app.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('leaves Swagger UI its own policy at /docs, and keeps / out of the OpenAPI document', async () => {
    const docs = await raw(`${app.url}/docs`);
    expect(docs.status).toBe(200);
    expect(String(docs.headers['content-security-policy'])).toContain(
      "script-src 'self' 'unsafe-inline'",
    );
    const document = JSON.parse((await raw(`${app.url}/docs-json`)).body.toString()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths).filter((p) => !p.startsWith('/api/v1/'))).toEqual([]);
  });

  it('is not served with UI_ENABLED=false', async () => {
    const off = await startApp({ UI_ENABLED: 'false' }, { databaseUrl: app.databaseUrl });
    try {
      expect((await raw(`${off.url}/`)).status).toBe(404);
      expect((await raw(`${off.url}${assets[0]}`)).status).toBe(404);
      expect((await raw(`${off.url}/health/live`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
