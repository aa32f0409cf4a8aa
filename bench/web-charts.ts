/**
 * `npm run bench:web-charts`: the charting libraries the dashboard could use, compared on what
 * the page pays for them (docs/web.md): the minified bundle of one line chart and one bar chart
 * (raw, gzip, Brotli) and the time to render both in Chromium (script and layout until the charts
 * are drawn, median of many renders after a warm-up), at the dashboard's size (37 months x 3
 * series and 12 category bars) and at 1,000 points x 3 series. The candidates are installed
 * into a temporary directory at the versions below; the project's own dependencies stay as they
 * are. Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import puppeteer from 'puppeteer-core';

const VERSIONS = {
  uplot: '1.6.32',
  'chart.js': '4.6.1',
  echarts: '6.1.0',
  '@observablehq/plot': '0.6.17',
};

/** Each entry defines window.draw(box, labels, series, names, totals): both charts, no animation. */
const ENTRIES: Record<string, string> = {
  uPlot: `
    import uPlot from 'uplot';
    import 'uplot/dist/uPlot.min.css';
    window.draw = (box, labels, series, names, totals) => {
      const a = new uPlot({ width: 800, height: 280, scales: { x: { time: false } },
        series: [{}, { stroke: '#1565c0' }, { stroke: '#c2410c' }, { stroke: '#3f3f46' }] },
        [labels.map((_, i) => i), ...series], box);
      const b = new uPlot({ width: 800, height: 400, legend: { show: false },
        scales: { x: { time: false, ori: 1, dir: -1 }, y: { ori: 0 } },
        axes: [{ side: 3, values: (u, s) => s.map((i) => names[i] ?? '') }, { side: 2 }],
        series: [{}, { fill: '#c2410c', paths: uPlot.paths.bars({ size: [0.7, 28] }) }] },
        [names.map((_, i) => i), totals], box);
      return () => { a.destroy(); b.destroy(); };
    };`,
  'Chart.js': `
    import { Chart, LineController, LineElement, PointElement, LinearScale, CategoryScale,
      BarController, BarElement, Legend, Tooltip } from 'chart.js';
    Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale,
      BarController, BarElement, Legend, Tooltip);
    window.draw = (box, labels, series, names, totals) => {
      const canvas = (h) => { const c = document.createElement('canvas'); c.width = 800; c.height = h; box.append(c); return c; };
      const a = new Chart(canvas(280), { type: 'line', options: { animation: false, responsive: false },
        data: { labels, datasets: series.map((data, i) => ({ data, borderColor: ['#1565c0', '#c2410c', '#3f3f46'][i] })) } });
      const b = new Chart(canvas(400), { type: 'bar', options: { indexAxis: 'y', animation: false, responsive: false },
        data: { labels: names, datasets: [{ data: totals, backgroundColor: '#c2410c' }] } });
      return () => { a.destroy(); b.destroy(); };
    };`,
  ECharts: `
    import * as echarts from 'echarts/core';
    import { LineChart, BarChart } from 'echarts/charts';
    import { GridComponent, TooltipComponent, LegendComponent } from 'echarts/components';
    import { CanvasRenderer } from 'echarts/renderers';
    echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);
    window.draw = (box, labels, series, names, totals) => {
      const div = (h) => { const d = document.createElement('div'); d.style.width = '800px'; d.style.height = h + 'px'; box.append(d); return d; };
      const a = echarts.init(div(280)); const b = echarts.init(div(400));
      a.setOption({ animation: false, legend: {}, tooltip: {}, xAxis: { type: 'category', data: labels }, yAxis: {},
        series: series.map((data) => ({ type: 'line', data })) });
      b.setOption({ animation: false, xAxis: {}, yAxis: { type: 'category', data: names, inverse: true },
        series: [{ type: 'bar', data: totals }] });
      return () => { a.dispose(); b.dispose(); };
    };`,
  'Observable Plot': `
    import * as Plot from '@observablehq/plot';
    window.draw = (box, labels, series, names, totals) => {
      const rows = labels.flatMap((l, i) => series.map((s, k) => ({ i, v: s[i], k })));
      box.append(Plot.plot({ width: 800, height: 280, marks: [Plot.lineY(rows, { x: 'i', y: 'v', stroke: 'k' })] }));
      box.append(Plot.plot({ width: 800, height: 400, marginLeft: 120,
        marks: [Plot.barX(names.map((n, i) => ({ n, t: totals[i] })), { x: 't', y: 'n', sort: { y: '-x' } })] }));
      return () => box.replaceChildren();
    };`,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'web-charts-'));
  writeFileSync(join(dir, 'package.json'), '{"private":true}');
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      ...Object.entries(VERSIONS).map(([n, v]) => `${n}@${v}`),
    ],
    { cwd: dir, stdio: 'inherit' },
  );
  const out = join(dir, 'out');
  mkdirSync(out);
  const sizes: Record<string, { raw: number; gzip: number; br: number }> = {};
  for (const [name, source] of Object.entries(ENTRIES)) {
    const file = name.replace(/\W/g, '');
    writeFileSync(join(dir, `${file}.js`), source);
    await build({
      absWorkingDir: dir,
      entryPoints: [join(dir, `${file}.js`)],
      bundle: true,
      minify: true,
      format: 'iife',
      target: ['chrome115'],
      outdir: out,
      legalComments: 'none',
      logLevel: 'warning',
    });
    const js = readFileSync(join(out, `${file}.js`));
    let css = Buffer.alloc(0);
    try {
      css = readFileSync(join(out, `${file}.css`));
    } catch {
      // only uPlot brings a style sheet
    }
    const both = Buffer.concat([js, css]);
    sizes[name] = {
      raw: both.length,
      gzip:
        gzipSync(js, { level: 9 }).length + (css.length ? gzipSync(css, { level: 9 }).length : 0),
      br: brotliCompressSync(js).length + (css.length ? brotliCompressSync(css).length : 0),
    };
    const link = css.length ? `<link rel="stylesheet" href="/${file}.css">` : '';
    writeFileSync(
      join(out, `${file}.html`),
      `<!doctype html><html><head>${link}</head><body><div id="box"></div><script src="/${file}.js"></script></body></html>`,
    );
  }

  const server = createServer((req, res) => {
    try {
      const body = readFileSync(join(out, (req.url ?? '/').slice(1)));
      const type = req.url?.endsWith('.js')
        ? 'text/javascript'
        : req.url?.endsWith('.css')
          ? 'text/css'
          : 'text/html';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const rows: Record<string, string | number>[] = [];
  try {
    for (const name of Object.keys(ENTRIES)) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1000, height: 900 });
      await page.goto(`http://127.0.0.1:${port}/${name.replace(/\W/g, '')}.html`);
      const time = (points: number, runs: number) =>
        page.evaluate(`(async () => {
          const labels = Array.from({ length: ${points} }, (_, i) => 'P' + i);
          const series = [0, 1, 2].map((k) => labels.map((_, i) => 1000 + 500 * Math.sin(i / 5 + k) + k * 300));
          const names = Array.from({ length: 12 }, (_, i) => 'Category ' + i);
          const totals = names.map((_, i) => 12000 / (i + 1));
          const box = document.getElementById('box');
          const times = [];
          for (let r = 0; r < ${runs}; r++) {
            const t0 = performance.now();
            const destroy = window.draw(box, labels, series, names, totals);
            // uPlot draws in a microtask; the others within the call. Layout is forced, so an
            // SVG's (Plot's) layout counts too; its paint, like a canvas's compositing, does not.
            await Promise.resolve();
            await Promise.resolve();
            box.getBoundingClientRect();
            times.push(performance.now() - t0);
            await new Promise((resolve) => requestAnimationFrame(() => resolve()));
            destroy();
            box.replaceChildren();
          }
          return times;
        })()`) as Promise<number[]>;
      await time(37, 5); // warm-up: parse, JIT
      const small = median(await time(37, 51));
      const large = median(await time(1000, 21));
      rows.push({
        library: name,
        'raw KB': +(sizes[name].raw / 1024).toFixed(1),
        'gzip KB': +(sizes[name].gzip / 1024).toFixed(1),
        'br KB': +(sizes[name].br / 1024).toFixed(1),
        'render 37 x 3 + 12 bars (ms)': +small.toFixed(1),
        'render 1,000 x 3 + 12 bars (ms)': +large.toFixed(1),
      });
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`Versions: ${JSON.stringify(VERSIONS)}`);
  console.table(rows);
}

void main();
