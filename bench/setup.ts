import type { Api } from './api';
import { median, type SingleResult } from './report';
import { type BenchContext, SINGLE_REQUESTS } from './scenarios';
import { BENCH_ADMIN_EMAIL, BENCH_PASSWORD, benchAnalystEmail } from './shared';

/** Logs in and prepares, through the API only, what the scenarios need (see BenchContext). */
export async function prepare(api: Api, depth: number, postMarker: string) {
  const admin = await api.login(BENCH_ADMIN_EMAIL, BENCH_PASSWORD);
  const analyst = await api.login(benchAnalystEmail(1), BENCH_PASSWORD);
  const first = await api.list(analyst.token, 'limit=20');
  const total = first.meta.total ?? 0;
  if (total < 20)
    throw new Error('the bench analyst has under 20 rows: run `npm run bench:data` first');
  // The deep page must exist and be full, whatever the data size.
  const depthPage = Math.min(depth, Math.floor(total / 20));
  const skip = (depthPage - 1) * 20;
  const ids = first.data.map((r) => r.id);
  let cursor = '';
  let walked = 0;
  const t = performance.now();
  while (walked < skip) {
    const page = await api.list(
      analyst.token,
      `limit=${Math.min(100, skip - walked)}&cursor=${encodeURIComponent(cursor)}`,
    );
    if (page.data.length === 0 || !page.meta.nextCursor) break;
    walked += page.data.length;
    ids.push(page.data[0].id, page.data[page.data.length - 1].id);
    cursor = page.meta.nextCursor;
  }
  console.log(
    `setup: analyst has ${total} live rows; cursor built to page ${depthPage} (${walked} rows) in ${((performance.now() - t) / 1000).toFixed(1)} s; ${ids.length} ids`,
  );
  const today = new Date().toISOString().slice(0, 10);
  const yearAgo = new Date(Date.now() - 365 * 86_400_000).toISOString().slice(0, 10);
  const ctx: BenchContext = {
    adminToken: admin.token,
    analystToken: analyst.token,
    ids,
    depthCursor: cursor,
    depthPage,
    today,
    yearAgo,
    postMarker,
  };
  return { ctx, adminId: admin.userId, analystId: analyst.userId, analystRows: total };
}

/** Sequential requests on an otherwise idle app: the single-request latency of issue 5. */
export async function singleRequests(
  api: Api,
  token: string,
  count: number,
): Promise<SingleResult[]> {
  const out: SingleResult[] = [];
  for (const { name, path, targetMs } of SINGLE_REQUESTS) {
    // Warm the route (a search's warm-up words are not sampled again: the count stays cold).
    for (let i = 0; i < 5; i++) await api.timed(token, path(count + i));
    const samplesMs: number[] = [];
    for (let i = 0; i < count; i++) samplesMs.push(await api.timed(token, path(i)));
    out.push({
      name,
      path: path(0).replace('/api/v1', '').replace(/q=\w+/, 'q=(another word each time)'),
      samplesMs,
      p50Ms: median(samplesMs),
      minMs: Math.min(...samplesMs),
      maxMs: Math.max(...samplesMs),
      targetMs,
    });
  }
  return out;
}
