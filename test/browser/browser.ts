import { existsSync } from 'node:fs';
import axe from 'axe-core';
import puppeteer, { type Browser, type HTTPResponse, type Page } from 'puppeteer-core';

/**
 * The browser tier's tools: Debian's Chromium (no browser download; CHROMIUM_PATH overrides the
 * path) driven by puppeteer-core, a page that records what a person would not see (console
 * errors, page errors, dialogs, every request's URL and every API response), and readers that
 * take the figures off the page the way they are shown.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH (docs/web.md)`,
    );
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI has no user namespace sandbox; /dev/shm is small in containers.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=en-US'],
  });
}

export interface Recorded {
  page: Page;
  /** Console messages of level error, page errors and dialogs (alert() from injected markup). */
  errors: string[];
  dialogs: string[];
  /** Every URL the page requested. */
  requests: string[];
  /** Every API answer: method, path and status, plus Retry-After. */
  api: { method: string; path: string; status: number; retryAfter?: string }[];
  close(): Promise<void>;
}

/** A fresh browser context (no shared storage) with one recorded page. */
export async function openPage(browser: Browser): Promise<Recorded> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const recorded: Recorded = {
    page,
    errors: [],
    dialogs: [],
    requests: [],
    api: [],
    close: () => context.close(),
  };
  page.on('console', (message) => {
    if (message.type() === 'error') recorded.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => recorded.errors.push(`page error: ${String(error)}`));
  page.on('dialog', (dialog) => {
    recorded.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('request', (request) => recorded.requests.push(request.url()));
  page.on('response', (response: HTTPResponse) => {
    const url = new URL(response.url());
    if (!url.pathname.startsWith('/api/v1/')) return;
    recorded.api.push({
      method: response.request().method(),
      path: url.pathname.slice('/api/v1'.length) + url.search,
      status: response.status(),
      retryAfter: response.headers()['retry-after'],
    });
  });
  return recorded;
}

/**
 * The console errors that are not Chromium's own line for an API answer the test expected
 * ("Failed to load resource: the server responded with a status of 401"): a failing fetch is
 * logged that way whether or not the page handles it.
 */
export function unexpectedErrors(recorded: Recorded, expectedStatuses: number[] = []): string[] {
  return recorded.errors.filter(
    (e) =>
      !expectedStatuses.some((s) =>
        e.startsWith(
          `console: Failed to load resource: the server responded with a status of ${s}`,
        ),
      ),
  );
}

/** The page's focused element's id (`:focus` needs the window focused too; this does not). */
export function focusedId(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.id ?? '');
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  // The form puts the focus on the email field itself.
  await page.waitForFunction(() => document.activeElement?.id === 'email');
  await page.type('#email', email);
  await page.type('#password', password);
  await page.click('#signin-button');
}

/** Waits until the dashboard shows an answer (figures or a message) and nothing is loading. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const content = document.getElementById('content');
      const status = document.getElementById('status')?.textContent ?? '';
      return (
        content !== null &&
        !content.hasAttribute('aria-busy') &&
        !document.getElementById('filters')?.hasAttribute('aria-busy') &&
        !status.startsWith('Loading') &&
        (content.childElementCount > 0 || status !== '')
      );
    },
    { timeout: 20_000 },
  );
}

/** Picks an option of a filter by value and waits for the new answer. */
export async function choose(page: Page, id: string, value: string): Promise<void> {
  const before = await page.$eval('#content', (el) => el.firstElementChild);
  const picked = await page.select(`#${id}`, value);
  if (picked[0] !== value) throw new Error(`#${id} has no option ${value}`);
  await page.waitForFunction(
    (old) => document.getElementById('content')?.firstElementChild !== old,
    { timeout: 20_000 },
    before,
  );
  await settled(page);
}

/** The summary cards' figures, as the API's strings (`data-value`) and as shown. */
export function cards(page: Page): Promise<Record<string, { value: string; shown: string }>> {
  return page.$$eval('#summary [data-field]', (els) =>
    Object.fromEntries(
      els.map((el) => [
        el.getAttribute('data-field') ?? '',
        { value: el.getAttribute('data-value') ?? '', shown: el.textContent ?? '' },
      ]),
    ),
  );
}

/**
 * A table's body rows, one string per cell: the API's own string where the cell holds a figure
 * (`data-value`), the cell's text otherwise. Hidden tables (behind their toggle) are read too.
 */
export function tableRows(page: Page, id: string): Promise<string[][]> {
  return page.$$eval(`#${id} tbody tr`, (rows) =>
    rows.map((row) =>
      [...row.children].map((cell) => {
        const figure = cell.querySelector('[data-value]');
        return figure ? (figure.getAttribute('data-value') ?? '') : (cell.textContent ?? '');
      }),
    ),
  );
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axe.source);
  const results = await page.evaluate(async () => {
    const run = (window as unknown as { axe: typeof axe }).axe.run;
    const found = await run(document, { resultTypes: ['violations'] });
    return found.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return results
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.join(', ')}`);
}
