import { isDeepStrictEqual } from 'node:util';
import type autocannon from 'autocannon';
import type { BenchContext, Scenario } from './scenarios';

/**
 * The agreement check of `--baseline` / `--check`: every distinct request of every selected
 * scenario, built exactly as autocannon builds it, sent once to each server; then status and
 * body are compared. Reads go first and writes last, so a created row cannot change a total.
 */
export interface Probe {
  scenario: string;
  method: string;
  path: string;
  status: number;
  body: unknown;
  etag: string | null;
  location: string | null;
}

export interface CheckResult {
  compared: number;
  agreed: number;
  lines: string[];
  mismatches: { scenario: string; path: string; detail: string }[];
}

export async function probe(
  baseUrl: string,
  scenarios: Scenario[],
  ctx: BenchContext,
): Promise<Probe[]> {
  const planned: { scenario: string; req: autocannon.Request }[] = [];
  for (const s of scenarios) {
    const { headers, requests } = s.requests(ctx);
    for (const entry of requests) {
      let req: autocannon.Request = {
        method: s.method,
        ...entry,
        headers: { ...headers, ...entry.headers },
      };
      if (typeof entry.setupRequest === 'function') req = entry.setupRequest(req, {});
      planned.push({ scenario: s.name, req });
    }
  }
  planned.sort((a, b) => Number(a.req.method !== 'GET') - Number(b.req.method !== 'GET'));
  const out: Probe[] = [];
  for (const { scenario, req } of planned) {
    const headers = Object.entries(req.headers ?? {}).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    );
    const res = await fetch(`${baseUrl}${req.path}`, {
      method: req.method,
      headers,
      body: typeof req.body === 'string' ? req.body : undefined,
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: compared as text
    }
    out.push({
      scenario,
      method: req.method ?? 'GET',
      path: req.path ?? '/',
      status: res.status,
      body,
      etag: res.headers.get('etag'),
      location: res.headers.get('location'),
    });
  }
  return out;
}

/**
 * Cursors compare by their body: the product signs base64url(JSON) with an HMAC, the baseline
 * sends the same JSON unsigned. A created row's id and timestamps are its own on each server.
 */
function normalise(p: Probe): unknown {
  const body = structuredClone(p.body) as Record<string, unknown> | null;
  const meta = body?.meta as { nextCursor?: string | null } | undefined;
  if (typeof meta?.nextCursor === 'string') meta.nextCursor = meta.nextCursor.split('.')[0];
  if (p.method === 'POST' && body && typeof body === 'object') {
    for (const key of ['id', 'createdAt', 'updatedAt']) {
      if (typeof body[key] === 'string') body[key] = `<${key}>`;
    }
  }
  return body;
}

/** The first place where two JSON values differ, as a path. */
function firstDifference(a: unknown, b: unknown, path = '$'): string {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (!isDeepStrictEqual(x, y)) return firstDifference(x, y, `${path}.${k}`);
  }
  return `${path}: key order differs`;
}

/** What a matching answer held, so the report says what was compared. */
function gist(p: Probe): string {
  const b = p.body as { data?: unknown[]; meta?: { total?: number } } | unknown[] | null;
  if (Array.isArray(b)) return `${b.length} entries`;
  if (b && typeof b === 'object' && 'data' in b && Array.isArray(b.data)) {
    const total = b.meta?.total !== undefined ? `total ${b.meta.total}, ` : '';
    const first = (b.data[0] as { id?: string } | undefined)?.id?.slice(0, 8) ?? '-';
    return `${total}${b.data.length} rows, first ${first}`;
  }
  if (b && typeof b === 'object' && 'transactionCount' in b) {
    const s = b as { transactionCount: number; netBalance: string };
    return `count ${s.transactionCount}, net ${s.netBalance}`;
  }
  return 'body';
}

export function compare(product: Probe[], baseline: Probe[]): CheckResult {
  const result: CheckResult = { compared: 0, agreed: 0, lines: [], mismatches: [] };
  product.forEach((p, i) => {
    const b = baseline[i];
    result.compared++;
    let detail = '';
    if (p.status !== b.status) detail = `status ${p.status} vs ${b.status}`;
    else if (!isDeepStrictEqual(normalise(p), normalise(b)))
      detail = firstDifference(normalise(p), normalise(b));
    else if (JSON.stringify(normalise(p)) !== JSON.stringify(normalise(b)))
      detail = 'same fields, different key order';
    // Only single resources carry an ETag (get by id): compare the strong ones.
    else if (p.etag && !p.etag.startsWith('W/') && p.method === 'GET' && p.etag !== b.etag)
      detail = `ETag ${p.etag} vs ${b.etag}`;
    else if (
      p.method === 'POST' &&
      !/\/api\/v1\/transactions\/[0-9a-f-]{36}$/.test(b.location ?? '')
    )
      detail = `baseline Location ${b.location}`;
    const what = `${p.scenario}: ${p.method} ${p.path.slice(0, 70)}`;
    if (detail) {
      result.mismatches.push({ scenario: p.scenario, path: p.path, detail });
      result.lines.push(`  DIFFERS ${what} — ${detail}`);
    } else {
      result.agreed++;
      result.lines.push(`  agrees  ${what} (${p.status}, ${gist(p)})`);
    }
  });
  return result;
}
