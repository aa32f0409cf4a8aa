/**
 * The two charts, drawn by uPlot on a canvas (docs/web.md says why uPlot). A chart is only a
 * picture: the section that shows it also has a table with the same figures, which is what a
 * screen reader reads (the canvas is aria-hidden). Values are plotted as Number(string), for
 * drawing only; the legend shows the API's own strings.
 */
import uPlot from 'uplot';
import { groupDigits, plotValue } from './format';
import type { CategoryTotal, TrendPoint } from './types';

export interface Chart {
  el: HTMLElement;
  destroy(): void;
}

const COLORS = { income: '#1565c0', expenses: '#c2410c', net: '#3f3f46', grid: '#e4e4e7' };
const FONT = '12px system-ui, sans-serif';

let firstDrawn = false;
/** `web:first-chart` on the performance timeline once the first chart is on screen (docs/web.md). */
function markFirstDraw(): void {
  if (firstDrawn) return;
  firstDrawn = true;
  performance.mark('web:first-chart');
}

function axisStyle(): Partial<uPlot.Axis> {
  return {
    stroke: '#3f3f46',
    font: FONT,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
  };
}

/** Keeps the chart as wide as its box. */
function fitWidth(plot: uPlot, box: HTMLElement, height: number): () => void {
  const observer = new ResizeObserver(() => {
    const width = Math.max(240, Math.floor(box.clientWidth));
    if (width !== plot.width) plot.setSize({ width, height });
  });
  observer.observe(box);
  return () => observer.disconnect();
}

function mount(box: HTMLElement, opts: uPlot.Options, data: uPlot.AlignedData): Chart {
  const plot = new uPlot({ ...opts, width: Math.max(240, Math.floor(box.clientWidth)) }, data, box);
  const stop = fitWidth(plot, box, opts.height);
  return {
    el: box,
    destroy: () => {
      stop();
      plot.destroy();
    },
  };
}

/** Income, expenses and net per month, as lines. */
export function trendChart(box: HTMLElement, points: TrendPoint[]): Chart {
  const periods = points.map((p) => p.period);
  const text = [
    periods,
    points.map((p) => p.income),
    points.map((p) => p.expenses),
    points.map((p) => p.net),
  ];
  const legendValue =
    (series: number) =>
    (_u: uPlot, _v: number | null, _s: number, idx: number | null): string =>
      idx === null ? '–' : series === 0 ? text[0][idx] : groupDigits(text[series][idx]);
  return mount(
    box,
    {
      height: 280,
      width: 0,
      // Zero stays in view, so the lines' heights compare honestly.
      scales: {
        x: { time: false },
        y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
      },
      cursor: { points: { size: 7 } },
      series: [
        { label: 'Month', value: legendValue(0) },
        { label: 'Income', stroke: COLORS.income, width: 2, value: legendValue(1) },
        { label: 'Expenses', stroke: COLORS.expenses, width: 2, value: legendValue(2) },
        { label: 'Net', stroke: COLORS.net, width: 1.5, dash: [6, 4], value: legendValue(3) },
      ],
      axes: [
        {
          ...axisStyle(),
          space: 64,
          incrs: [1, 2, 3, 4, 6, 12, 24, 36, 60, 120, 240],
          values: (_u, splits) =>
            splits.map((v) => (Number.isInteger(v) ? (periods[v] ?? '') : '')),
        },
        {
          ...axisStyle(),
          size: 72,
          values: (_u, splits) => splits.map((v) => groupDigits(String(v))),
        },
      ],
      hooks: { draw: [markFirstDraw] },
    },
    [
      points.map((_, i) => i),
      points.map((p) => plotValue(p.income)),
      points.map((p) => plotValue(p.expenses)),
      points.map((p) => plotValue(p.net)),
    ],
  );
}

const short = (s: string) => (s.length > 18 ? `${s.slice(0, 17)}…` : s);

/** One type's category totals as horizontal bars, largest at the top. */
export function categoryChart(
  box: HTMLElement,
  rows: CategoryTotal[],
  color: 'income' | 'expenses',
): Chart {
  const names = rows.map((r) => r.category);
  return mount(
    box,
    {
      height: 48 + rows.length * 30,
      width: 0,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, ori: 1, dir: -1, range: [-0.5, rows.length - 0.5] },
        y: { ori: 0, range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] },
      },
      series: [
        {},
        {
          label: 'Total',
          fill: COLORS[color],
          stroke: COLORS[color],
          paths: uPlot.paths.bars!({ size: [0.7, 28] }),
          points: { show: false },
        },
      ],
      axes: [
        {
          ...axisStyle(),
          side: 3,
          size: 140,
          grid: { show: false },
          splits: () => rows.map((_, i) => i),
          values: (_u, splits) => splits.map((v) => short(names[v] ?? '')),
        },
        {
          ...axisStyle(),
          side: 2,
          space: 80,
          values: (_u, splits) => splits.map((v) => groupDigits(String(v))),
        },
      ],
      hooks: { draw: [markFirstDraw] },
    },
    [rows.map((_, i) => i), rows.map((r) => plotValue(r.total))],
  );
}
