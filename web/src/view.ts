/**
 * The dashboard body, built from one GET /dashboard answer. What the body holds decides what is
 * shown, so the page is shaped by role exactly as the API shapes it: a viewer's body has no
 * categories or trends, so there are no such charts; an admin's or auditor's adds byUser and users.
 * Every figure is the API's string, grouped for reading; `data-value` keeps it verbatim.
 */
import { type Chart, categoryChart, trendChart } from './charts';
import { type Child, h, replace, table } from './dom';
import { count, groupDigits } from './format';
import type { CategoryTotal, Dashboard, Summary, Totals, TrendPoint, UserCounts } from './types';

export interface Rendered {
  sections: HTMLElement[];
  /** Draws the charts; call once the sections are in the document (they size to their box). */
  drawCharts(): Chart[];
}

const figure = (amount: string) =>
  h('span', { attrs: { 'data-value': amount } }, groupDigits(amount));
const tally = (n: number) => h('span', { attrs: { 'data-value': n } }, count(n));

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'panel', attrs: { id, 'aria-labelledby': `${id}-title` } },
    h('h2', { attrs: { id: `${id}-title` } }, title),
    ...children,
  );
}

/** A toggle that shows the chart's figures as a table (closed by default, always in the DOM). */
function figuresTable(tableEl: HTMLTableElement): HTMLElement {
  return h(
    'details',
    { class: 'figures' },
    h('summary', {}, 'Show the figures as a table'),
    tableEl,
  );
}

function summarySection(summary: Summary, rangeLabel: string): HTMLElement {
  const card = (label: string, field: keyof Totals, amount: string) =>
    h(
      'li',
      { class: `card card-${field}` },
      h('span', { class: 'card-label' }, label),
      h(
        'span',
        { class: 'card-figure', attrs: { 'data-field': field, 'data-value': amount } },
        groupDigits(amount),
        ' ',
        h('span', { class: 'currency' }, summary.currency),
      ),
    );
  const countCard = h(
    'li',
    { class: 'card card-transactionCount' },
    h('span', { class: 'card-label' }, 'Transactions'),
    h(
      'span',
      {
        class: 'card-figure',
        attrs: { 'data-field': 'transactionCount', 'data-value': summary.transactionCount },
      },
      count(summary.transactionCount),
    ),
  );
  const byCurrency =
    summary.byCurrency.length > 0
      ? figuresTable(
          table(
            'Totals in their original currencies, not converted',
            ['Currency', 'Income', 'Expenses', 'Net', 'Transactions'],
            summary.byCurrency.map((c) => [
              c.currency,
              figure(c.totalIncome),
              figure(c.totalExpenses),
              figure(c.netBalance),
              tally(c.transactionCount),
            ]),
            { numeric: [1, 2, 3, 4], id: 'by-currency-table' },
          ),
        )
      : null;
  return section(
    'summary',
    `Summary, ${rangeLabel.toLowerCase()}, in ${summary.currency}`,
    h(
      'ul',
      { class: 'cards' },
      card('Income', 'totalIncome', summary.totalIncome),
      card('Expenses', 'totalExpenses', summary.totalExpenses),
      card('Net balance', 'netBalance', summary.netBalance),
      countCard,
    ),
    byCurrency,
  );
}

function emptySection(all: boolean): HTMLElement {
  return section(
    'empty',
    all ? 'No transactions yet' : 'No transactions in this period',
    h(
      'p',
      {},
      all
        ? 'Figures, charts and the latest transactions appear here once transactions are recorded (POST /api/v1/transactions or a CSV import; see the API documentation).'
        : 'Pick a longer period to see figures and charts.',
    ),
  );
}

function trendSection(
  points: TrendPoint[],
  currency: string,
  charts: (() => Chart)[],
): HTMLElement {
  const box = h('div', { class: 'chart', attrs: { 'aria-hidden': 'true' } });
  charts.push(() => trendChart(box, points));
  return section(
    'trend',
    'Monthly trend',
    h(
      'p',
      { class: 'hint' },
      `Income, expenses and net per month in ${currency}; the table below has the same figures.`,
    ),
    box,
    figuresTable(
      table(
        `Income, expenses and net per month, in ${currency}`,
        ['Month', 'Income', 'Expenses', 'Net'],
        points.map((p) => [p.period, figure(p.income), figure(p.expenses), figure(p.net)]),
        { numeric: [1, 2, 3], id: 'trend-table' },
      ),
    ),
  );
}

const CHART_CATEGORIES = 12;

function categorySection(
  rows: CategoryTotal[],
  currency: string,
  charts: (() => Chart)[],
): HTMLElement {
  const byType = {
    expense: rows.filter((r) => r.type === 'expense'),
    income: rows.filter((r) => r.type === 'income'),
  };
  let shown: 'expense' | 'income' = byType.expense.length > 0 ? 'expense' : 'income';
  let chart: Chart | undefined;
  const body = h('div', { class: 'category-body' });
  const draw = () => {
    chart?.destroy();
    const list = byType[shown];
    const box = h('div', { class: 'chart', attrs: { 'aria-hidden': 'true' } });
    const label = shown === 'expense' ? 'Expenses' : 'Income';
    replace(
      body,
      h(
        'p',
        { class: 'hint' },
        list.length > CHART_CATEGORIES
          ? `${label} of the ${CHART_CATEGORIES} largest of ${list.length} categories in ${currency}; the table lists all.`
          : `${label} per category in ${currency}; the table below has the same figures.`,
      ),
      list.length > 0 ? box : h('p', {}, `No ${label.toLowerCase()} in this period.`),
      figuresTable(
        table(
          `${label} per category, largest first, in ${currency}`,
          ['Category', 'Total', 'Share (%)', 'Transactions'],
          list.map((r) => [r.category, figure(r.total), r.share, tally(r.count)]),
          { numeric: [1, 2, 3], id: 'category-table' },
        ),
      ),
    );
    chart =
      list.length > 0
        ? categoryChart(
            box,
            list.slice(0, CHART_CATEGORIES),
            shown === 'expense' ? 'expenses' : 'income',
          )
        : undefined;
  };
  const radio = (value: 'expense' | 'income', label: string) =>
    h(
      'label',
      { class: 'choice' },
      h('input', {
        attrs: { type: 'radio', name: 'category-type', value, checked: value === shown },
        on: {
          change: () => {
            shown = value;
            draw();
          },
        },
      }),
      ` ${label}`,
    );
  charts.push(() => {
    draw();
    // The section's charts are replaced in place when the type changes; destroy the current one.
    return { el: body, destroy: () => chart?.destroy() };
  });
  return section(
    'categories',
    'By category',
    h(
      'fieldset',
      { class: 'choices' },
      h('legend', {}, 'Show'),
      radio('expense', 'Expenses'),
      radio('income', 'Income'),
    ),
    body,
  );
}

function recentSection(d: Dashboard): HTMLElement {
  return section(
    'recent',
    'Latest transactions',
    table(
      'The latest transactions, newest first, each in its own currency',
      ['Date', 'Category', 'Type', 'Amount', 'Currency', 'Notes'],
      d.recent.map((t) => [
        t.date,
        t.category,
        t.type === 'income' ? 'Income' : 'Expense',
        figure(t.amount),
        t.currency,
        t.notes ?? '',
      ]),
      { numeric: [3], id: 'recent-table' },
    ),
  );
}

function organisationSection(d: Dashboard): HTMLElement {
  const users: UserCounts | undefined = d.users;
  const roles = ['admin', 'analyst', 'viewer', 'auditor'] as const;
  return section(
    'organisation',
    'Organisation',
    users
      ? table(
          `Users: ${users.total} in all, ${users.active} active`,
          ['Role', 'Active', 'Inactive'],
          roles.map((r) => [r, tally(users[r].active), tally(users[r].inactive)]),
          { numeric: [1, 2], id: 'user-counts-table' },
        )
      : null,
    d.byUser
      ? table(
          `Per user, in ${d.summary.currency}`,
          ['User', 'Email', 'Income', 'Expenses', 'Net', 'Transactions'],
          d.byUser.map((u) => [
            u.name,
            u.email,
            figure(u.totalIncome),
            figure(u.totalExpenses),
            figure(u.netBalance),
            tally(u.transactionCount),
          ]),
          { numeric: [2, 3, 4, 5], id: 'by-user-table' },
        )
      : null,
  );
}

export function renderDashboard(d: Dashboard, rangeLabel: string, all: boolean): Rendered {
  const charts: (() => Chart)[] = [];
  const sections: HTMLElement[] = [summarySection(d.summary, rangeLabel)];
  if (d.summary.transactionCount === 0) {
    sections.push(emptySection(all));
  } else {
    if (d.trends) sections.push(trendSection(d.trends, d.summary.currency, charts));
    if (d.categories) {
      sections.push(categorySection(d.categories, d.summary.currency, charts));
    }
    sections.push(recentSection(d));
  }
  if (d.byUser || d.users) sections.push(organisationSection(d));
  return { sections, drawCharts: () => charts.map((draw) => draw()) };
}
