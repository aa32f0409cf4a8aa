/**
 * `npm run bench:web`: the web dashboard's cost as a person meets it, in Chromium (docs/web.md):
 * - what the page transfers on a cold load (HTML, script, style sheet, icon; Brotli), and what the
 *   sign-in and the first dashboard transfer from the API;
 * - sign-in click to the first chart drawn (bcrypt of the login included), the dashboard's
 *   request to the first chart drawn, and its answer to the first chart drawn (the page's own
 *   render: the `web:dashboard-request`, `web:dashboard-answer` and `web:first-chart` marks);
 * - a period switch to the new figures on screen.
 * For the bench analyst (its own rows) and the bench admin (the whole organisation), on the data of
 * `npm run bench:data` (DATABASE_URL, else the embedded server in DATA_DIR). Medians of --runs.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer, { type Browser } from 'puppeteer-core';
import { freePort } from '../src/database/embedded-database';
import { startApp } from './app-process';
import { BENCH_ADMIN_EMAIL, BENCH_PASSWORD, benchAnalystEmail, openBenchDatabase } from './shared';

const root = resolve(__dirname, '..', '..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Run {
  pageBytes: number;
  apiBytes: number;
  signInToChart: number;
  requestToChart: number;
  answerToChart: number;
  switchPeriod: number;
}

async function once(browser: Browser, url: string, email: string): Promise<Run> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  let pageBytes = 0;
  let apiBytes = 0;
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    if (new URL(urls.get(e.requestId) ?? url).pathname.startsWith('/api/'))
      apiBytes += e.encodedDataLength;
    else pageBytes += e.encodedDataLength;
  });
  await page.goto(`${url}/`, { waitUntil: 'networkidle0' });
  await page.waitForFunction("document.activeElement?.id === 'email'");
  await page.type('#email', email);
  await page.type('#password', BENCH_PASSWORD);
  const clicked = (await page.evaluate('performance.now()')) as number;
  await page.click('#signin-button');
  await page
    .waitForFunction("performance.getEntriesByName('web:first-chart').length > 0", {
      timeout: 60_000,
    })
    .catch(async (error: Error) => {
      const said = (await page.evaluate(
        "document.getElementById('status').textContent + ' | ' + document.getElementById('signin-error').textContent",
      )) as string;
      throw new Error(`no chart for ${email}: ${said}`, { cause: error });
    });
  const marks = (await page.evaluate(`[
    performance.getEntriesByName('web:dashboard-request')[0].startTime,
    performance.getEntriesByName('web:first-chart')[0].startTime,
    performance.getEntriesByName('web:dashboard-answer')[0].startTime,
  ]`)) as [number, number, number];
  await page.waitForFunction("!document.getElementById('filters').hasAttribute('aria-busy')");
  const before = (await page.evaluate('performance.now()')) as number;
  await page.select('#range', 'ytd');
  await page.waitForFunction(
    "document.querySelector('#summary h2')?.textContent.includes('year to date') && !document.getElementById('content').hasAttribute('aria-busy')",
    { timeout: 60_000 },
  );
  const after = (await page.evaluate('performance.now()')) as number;
  await context.close();
  return {
    pageBytes,
    apiBytes,
    signInToChart: marks[1] - clicked,
    requestToChart: marks[1] - marks[0],
    answerToChart: marks[1] - marks[2],
    switchPeriod: after - before,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const db = await openBenchDatabase();
  const app = await startApp({
    root,
    port: await freePort(),
    databaseUrl: db.url,
    logFile: join(tmpdir(), `finance-bench-web-${Date.now()}.log`),
    // Every run signs in: the login limits (5 a minute per address and email) must not answer 429.
    env: { THROTTLE_LOGIN_LIMIT: '1000000', THROTTLE_LOGIN_IP_LIMIT: '1000000' },
  });
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const login = (await (
      await fetch(`${app.baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: BENCH_ADMIN_EMAIL, password: BENCH_PASSWORD }),
      })
    ).json()) as { accessToken: string };
    const summary = (await (
      await fetch(`${app.baseUrl}/api/v1/dashboard/summary`, {
        headers: { authorization: `Bearer ${login.accessToken}` },
      })
    ).json()) as { transactionCount: number };
    const rows = summary.transactionCount;
    console.log(`live transactions in the organisation: ${rows}`);
    const table: Record<string, string>[] = [];
    for (const [who, email] of [
      ['bench analyst (own rows)', benchAnalystEmail(1)],
      ['bench admin (organisation)', BENCH_ADMIN_EMAIL],
    ]) {
      await once(browser, app.baseUrl, email); // warm-up: caches, JIT, the planner
      const results: Run[] = [];
      for (let i = 0; i < runs; i++) results.push(await once(browser, app.baseUrl, email));
      const m = (key: keyof Run) => median(results.map((r) => r[key]));
      table.push({
        who,
        'page transferred (KB)': (m('pageBytes') / 1024).toFixed(1),
        'API transferred (KB)': (m('apiBytes') / 1024).toFixed(1),
        'sign-in click → first chart (ms)': m('signInToChart').toFixed(0),
        'dashboard request → first chart (ms)': m('requestToChart').toFixed(0),
        'answer → first chart drawn (ms)': m('answerToChart').toFixed(0),
        'period switch → figures (ms)': m('switchPeriod').toFixed(0),
      });
    }
    console.log(`medians of ${runs} runs each, after one warm-up`);
    console.table(table);
  } finally {
    await browser.close();
    await app.stop();
    await db.stop();
  }
}

void main();
