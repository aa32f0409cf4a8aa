import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface Probe {
  results: Record<
    string,
    { ok: boolean; statusCode: number | null; error: string | null; connected: number }
  >;
  caught: string[];
  lookups: string[];
  urls: Record<string, string | null>;
}

/**
 * The SSRF guard against names a stubbed resolver answers with forbidden addresses. The probe
 * (scripts/ssrf-probe.ts, built to dist-tools/scripts by `npm run build:tools`) runs the built sender with a tripwire under the guard, so no connection
 * is ever made to anything but loopback even if the guard were wrong; here we check that the
 * guard itself refused each one before any socket connected.
 */
describe('webhooks: SSRF guard at connect time (stubbed resolver, loopback traffic only)', () => {
  let probe: Probe;

  beforeAll(() => {
    const out = execFileSync(
      process.execPath,
      [join(__dirname, '..', '..', 'dist-tools', 'scripts', 'ssrf-probe.js')],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    probe = JSON.parse(out) as Probe;
  });

  it.each([
    'private.test',
    'private172.test',
    'private192.test',
    'linklocal.test',
    'metadata.test',
    'metadata6.test',
    'loopback.test',
    'loopback6.test',
    'mapped.test',
    'cgnat.test',
    'unspecified.test',
  ])('refuses %s before any socket connects', (host) => {
    const r = probe.results[host];
    expect(r.ok).toBe(false);
    expect(r.statusCode).toBeNull();
    expect(r.error).toMatch(/^refused: DNS lookup .* is not allowed/);
    expect(r.connected).toBe(0);
    expect(probe.lookups).toContain(host);
  });

  it('lets a host on WEBHOOK_ALLOWED_HOSTS through (the stub is really used)', () => {
    expect(probe.results['allowed.test']).toMatchObject({
      ok: true,
      statusCode: 204,
      connected: 1,
    });
  });

  it('never needed the tripwire: the guard refused everything itself', () => {
    expect(probe.caught).toEqual([]);
  });

  it('takes only https unless WEBHOOK_ALLOW_HTTP', () => {
    expect(probe.urls['http://hooks.example.com/x']).toBe('url must use https');
    expect(probe.urls['https://hooks.example.com/x']).toBeNull();
  });
});
