import type { IncomingHttpHeaders } from 'node:http';
import type autocannon from 'autocannon';
import type { BenchContext, Scenario } from './scenarios';
import { EXPENSE_CATEGORIES, INCOME_CATEGORIES } from './shared';

export const bearer = (token: string): IncomingHttpHeaders => ({
  authorization: `Bearer ${token}`,
});

/**
 * The n-th body of the create scenarios: a different valid row each time (type, amount,
 * category and date all vary), marked in `notes` so the runner can remove it afterwards.
 */
export function createBody(ctx: BenchContext, n: number): string {
  const start = Date.parse(`${ctx.yearAgo}T00:00:00Z`);
  const income = n % 10 === 0;
  const categories = income ? INCOME_CATEGORIES : EXPENSE_CATEGORIES;
  const cents = income ? 10_000 + ((n * 7919) % 790_000) : 100 + ((n * 104_729) % 49_900);
  return JSON.stringify({
    type: income ? 'income' : 'expense',
    amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
    category: categories[n % categories.length],
    date: new Date(start + (n % 365) * 86_400_000).toISOString().slice(0, 10),
    notes: ctx.postMarker,
  });
}

export interface KindStat {
  requests: number;
  non2xx: number;
  p50: number;
  p99: number;
}

/**
 * Latency per request kind of a mixed run. autocannon reports one histogram per run, so each
 * request of the cycle names its kind in `onResponse`, which autocannon calls synchronously just
 * before it emits `response` (with that request's latency) for the same client: `record` then
 * files the latency under the kind named last. Nothing runs in between, so the two always match.
 */
export class KindLatencies {
  private last = '';
  private readonly samples = new Map<string, number[]>();
  private readonly bad = new Map<string, number>();

  mark(kind: string): () => void {
    return () => {
      this.last = kind;
    };
  }

  record(status: number, ms: number): void {
    const list = this.samples.get(this.last) ?? [];
    list.push(ms);
    this.samples.set(this.last, list);
    if (status < 200 || status > 299) this.bad.set(this.last, (this.bad.get(this.last) ?? 0) + 1);
  }

  stats(): Record<string, KindStat> {
    const out: Record<string, KindStat> = {};
    for (const [kind, list] of [...this.samples].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...list].sort((a, b) => a - b);
      out[kind] = {
        requests: sorted.length,
        non2xx: this.bad.get(kind) ?? 0,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
      };
    }
    return out;
  }
}

/** Nearest rank on sorted values, rounded to 0.01 ms. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const value = sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return Math.round(value * 100) / 100;
}

/**
 * Every connection runs this 10-slot cycle in order (autocannon walks a request array per
 * connection): 4 list pages, 2 summaries, 1 trends, 2 creates, 1 search. Interleaved, so a
 * connection never sends the same kind twice in a row except list pages.
 */
const CYCLE = [
  'list',
  'summary',
  'create',
  'list',
  'search',
  'list',
  'trends',
  'create',
  'summary',
  'list',
] as const;

/**
 * The mixed read/write load of one analyst on 16 connections. `withSearch: false` sends list
 * pages in place of the searches (the search's exact total is counted again after every create,
 * because the creates raise the analyst's write version).
 */
export function mixedScenario(name: string, withSearch: boolean): Scenario {
  const cycle = CYCLE.map((k) => (k === 'search' && !withSearch ? 'list' : k));
  const mix = ['list', 'summary', 'trends', 'create', 'search']
    .map((k) => `${cycle.filter((c) => c === k).length * 10} % ${k}`)
    .filter((s) => !s.startsWith('0 '))
    .join(', ');
  return {
    name,
    title: `mixed read/write (analyst, 16 conn.${withSearch ? '' : ', no search'})`,
    method: 'GET',
    connections: 16,
    writes: true,
    path: `mixed: ${mix}`,
    requests: (ctx) => {
      const kinds = new KindLatencies();
      const auth = bearer(ctx.analystToken);
      const json = { ...auth, 'content-type': 'application/json' };
      let lists = 0;
      let creates = 0;
      const request = (kind: string): autocannon.Request => {
        const base = { headers: { ...auth }, onResponse: kinds.mark(kind) };
        switch (kind) {
          case 'list':
            // Page mode with its total, pages 1-5 in turn.
            return {
              ...base,
              method: 'GET',
              setupRequest: (req) => ({
                ...req,
                path: `/api/v1/transactions?limit=20&page=${1 + (lists++ % 5)}`,
              }),
            };
          case 'create':
            return {
              ...base,
              method: 'POST',
              path: '/api/v1/transactions',
              setupRequest: (req) => ({
                ...req,
                headers: { ...json },
                body: createBody(ctx, creates++),
              }),
            };
          case 'search':
            return { ...base, method: 'GET', path: '/api/v1/transactions?q=coffee&limit=20' };
          default:
            return { ...base, method: 'GET', path: `/api/v1/dashboard/${kind}` };
        }
      };
      return { headers: auth, requests: cycle.map(request), kinds };
    },
  };
}
