import type { IncomingHttpHeaders } from 'node:http';
import type autocannon from 'autocannon';
import { bearer, createBody, type KindLatencies, mixedScenario } from './mixed';
import { EXPENSE_CATEGORIES, NOTE_WORDS } from './shared';

/** What the scenarios need from the setup phase (tokens and ids all come from the API). */
export interface BenchContext {
  adminToken: string;
  analystToken: string;
  /** Ids of the analyst's live rows, spread over its history. */
  ids: string[];
  /** A cursor positioned at the start of page `depthPage` (20 rows a page, default sort). */
  depthCursor: string;
  depthPage: number;
  today: string;
  yearAgo: string;
  /** Written into the notes of every created row, so the run can remove them afterwards. */
  postMarker: string;
}

export type Target =
  | { kind: 'throughput'; minRps: number; maxP99Ms?: number }
  | { kind: 'relative'; to: string; within: number };

export interface Scenario {
  name: string;
  title: string;
  method: 'GET' | 'POST';
  /** Writes rows that the runner removes after each run of the scenario. */
  writes?: boolean;
  /** Overrides --connections (the mixed scenarios are defined at 16). */
  connections?: number;
  /** What the results show as the path, when the requests vary. */
  path?: string;
  /**
   * Only the product runs it: the baseline (bench/baseline) predates reporting currencies and
   * answers `currency=` with a 400, so `--baseline` and `--check` leave it out.
   */
  productOnly?: boolean;
  target?: Target;
  requests(ctx: BenchContext): {
    headers: IncomingHttpHeaders;
    requests: autocannon.Request[];
    /** Set by scenarios that mix request kinds: latency per kind. */
    kinds?: KindLatencies;
  };
}

/** One fixed request. */
const get =
  (path: (ctx: BenchContext) => string, who: 'admin' | 'analyst') => (ctx: BenchContext) => ({
    headers: bearer(who === 'admin' ? ctx.adminToken : ctx.analystToken),
    requests: [{ method: 'GET' as const, path: `/api/v1${path(ctx)}` }],
  });

const dashboard = (route: string, who: 'admin' | 'analyst'): Scenario => ({
  name: `dashboard-${route}-${who}`,
  title: `dashboard ${route} (${who === 'admin' ? 'admin, whole org' : 'analyst, own'})`,
  method: 'GET',
  target: who === 'admin' ? { kind: 'throughput', minRps: 600 } : undefined,
  requests: get(() => `/dashboard/${route}`, who),
});

/**
 * The same request in the reporting currency EUR. The analyst's rows are all in USD (see
 * scripts/bench-data.ts), so every rollup day is converted: the worst case for one user, measured
 * against the unconverted scenario of the same route. The admin's converts every row but the EUR
 * ones. Needs the EUR→USD rates that `npm run bench:data` always writes.
 */
const converted = (route: string, who: 'admin' | 'analyst'): Scenario => {
  const plain = dashboard(route, who);
  return {
    name: `${plain.name}-fx`,
    title: `${plain.title} in EUR`,
    method: 'GET',
    productOnly: true,
    target: who === 'analyst' ? { kind: 'relative', to: plain.name, within: 0.3 } : undefined,
    requests: get(() => `/dashboard/${route}?currency=EUR`, who),
  };
};

export const SCENARIOS: Scenario[] = [
  {
    name: 'list-first-page',
    title: 'list first page (analyst, page mode + total)',
    method: 'GET',
    target: { kind: 'throughput', minRps: 800, maxP99Ms: 100 },
    requests: get(() => `/transactions?limit=20`, 'analyst'),
  },
  {
    name: 'list-filtered',
    title: 'list filtered (type + category + 1y range)',
    method: 'GET',
    target: { kind: 'throughput', minRps: 500 },
    requests: get(
      (ctx) =>
        `/transactions?type=expense&category=${EXPENSE_CATEGORIES[0]}&from=${ctx.yearAgo}&to=${ctx.today}&limit=20`,
      'analyst',
    ),
  },
  {
    name: 'search-q',
    title: 'search q=coffee (analyst)',
    method: 'GET',
    target: { kind: 'throughput', minRps: 300 },
    requests: get(() => `/transactions?q=coffee&limit=20`, 'analyst'),
  },
  {
    name: 'cursor-depth',
    title: 'cursor page at depth (analyst)',
    method: 'GET',
    target: { kind: 'relative', to: 'list-first-page', within: 0.1 },
    requests: get(
      (ctx) => `/transactions?limit=20&cursor=${encodeURIComponent(ctx.depthCursor)}`,
      'analyst',
    ),
  },
  {
    name: 'page-depth',
    title: 'page mode at depth (analyst)',
    method: 'GET',
    requests: get((ctx) => `/transactions?limit=20&page=${ctx.depthPage}`, 'analyst'),
  },
  {
    name: 'get-by-id',
    title: 'get by id (analyst, rotating ids)',
    method: 'GET',
    requests: (ctx) => {
      let i = 0;
      return {
        headers: bearer(ctx.analystToken),
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({
              ...req,
              path: `/api/v1/transactions/${ctx.ids[i++ % ctx.ids.length]}`,
            }),
          },
        ],
      };
    },
  },
  dashboard('summary', 'admin'),
  dashboard('categories', 'admin'),
  dashboard('trends', 'admin'),
  dashboard('summary', 'analyst'),
  dashboard('categories', 'analyst'),
  dashboard('trends', 'analyst'),
  converted('summary', 'analyst'),
  converted('categories', 'analyst'),
  converted('trends', 'analyst'),
  converted('summary', 'admin'),
  {
    name: 'create',
    title: 'POST /transactions (analyst)',
    method: 'POST',
    writes: true,
    target: { kind: 'throughput', minRps: 800 },
    requests: (ctx) => {
      let i = 0;
      const headers = { ...bearer(ctx.analystToken), 'content-type': 'application/json' };
      return {
        headers,
        requests: [
          {
            method: 'POST',
            path: '/api/v1/transactions',
            setupRequest: (req) => ({
              ...req,
              headers: { ...headers },
              body: createBody(ctx, i++),
            }),
          },
        ],
      };
    },
  },
  {
    name: 'search-org-page',
    title: 'search q=coffee (admin, whole org, page mode + total)',
    method: 'GET',
    requests: get(() => `/transactions?q=coffee&limit=20`, 'admin'),
  },
  {
    name: 'search-org-cursor',
    title: 'search q=coffee (admin, whole org, cursor mode)',
    method: 'GET',
    requests: get(() => `/transactions?q=coffee&limit=20&cursor=`, 'admin'),
  },
  mixedScenario('mixed', true),
  mixedScenario('mixed-no-search', false),
];

/**
 * Sequential single requests (no other load). `path(i)` is the path of sample i; the searches use
 * a different note word each time, so every page-mode sample counts with a cold total cache (for
 * up to 34 samples: warm-up and samples together use each of the 39 words once).
 */
export const SINGLE_REQUESTS: { name: string; targetMs: number; path: (i: number) => string }[] = [
  { name: 'dashboard-summary-admin', targetMs: 15, path: () => '/api/v1/dashboard/summary' },
  { name: 'dashboard-trends-admin', targetMs: 15, path: () => '/api/v1/dashboard/trends' },
  // The issue sets no target for the converted summary; it is held to the unconverted one's.
  {
    name: 'dashboard-summary-admin-fx',
    targetMs: 15,
    path: () => '/api/v1/dashboard/summary?currency=EUR',
  },
  {
    name: 'search-org-page-cold',
    targetMs: 100,
    path: (i) => `/api/v1/transactions?q=${coldWord(i)}&limit=20`,
  },
  {
    name: 'search-org-cursor',
    targetMs: 20,
    path: (i) => `/api/v1/transactions?q=${coldWord(i)}&limit=20&cursor=`,
  },
];

/** Note words no scenario searches for ('coffee' is warmed by the load), one per sample. */
const COLD_WORDS = NOTE_WORDS.filter((w) => w !== 'coffee');
const coldWord = (i: number) => COLD_WORDS[i % COLD_WORDS.length];
