// Builds the web dashboard into dist/public (served by src/web): esbuild bundles web/src/main.ts
// and web/styles.css (uPlot's CSS included) into content-hashed files under assets/, index.html
// gets their names, and every file gets a Brotli and a gzip twin so the server sends the smallest
// the browser accepts. Run by `npm run build` after `nest build`, which empties dist/ first.
//
//   node web/build.mjs            build
//   node web/build.mjs --sizes    build, then print each file's size raw, gzip and Brotli
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const web = dirname(fileURLToPath(import.meta.url));
const out = join(web, '..', 'dist', 'public');
const assets = join(out, 'assets');

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  absWorkingDir: join(web, '..'),
  entryPoints: { app: join(web, 'src', 'main.ts'), 'app-style': join(web, 'styles.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome115', 'firefox115', 'safari16'],
  entryNames: '[name]-[hash]',
  outdir: assets,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const name = relative(assets, join(web, '..', file));
  names[name.endsWith('.css') ? 'app.css' : 'app.js'] = name;
}

const icon = readFileSync(join(web, 'favicon.svg'));
names['favicon.svg'] = `favicon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
writeFileSync(join(assets, names['favicon.svg']), icon);

const html = readFileSync(join(web, 'index.html'), 'utf8').replace(
  /\{\{([\w.]+)\}\}/g,
  (_, key) => {
    if (!names[key]) throw new Error(`index.html names {{${key}}}, which the build did not make`);
    return names[key];
  },
);
writeFileSync(join(out, 'index.html'), html);

const files = [join(out, 'index.html'), ...readdirSync(assets).map((f) => join(assets, f))];
const sizes = [];
for (const file of files) {
  const body = readFileSync(file);
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  const gz = gzipSync(body, { level: 9 });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gz);
  sizes.push({ file: relative(out, file), raw: body.length, gzip: gz.length, br: br.length });
}

if (process.argv.includes('--sizes')) {
  const page = sizes.filter((s) => !s.file.endsWith('.map'));
  const total = (key) => page.reduce((sum, s) => sum + s[key], 0);
  console.table([
    ...page,
    { file: 'page total (no maps)', raw: total('raw'), gzip: total('gzip'), br: total('br') },
  ]);
}
