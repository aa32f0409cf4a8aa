import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

/** One encoding of a file: the bytes as sent and their strong validator. */
export interface Variant {
  body: Buffer;
  etag: string;
  encoding?: 'br' | 'gzip';
}

export interface WebFile {
  type: string;
  /** Identity first, then the precompressed ones the build wrote beside it. */
  variants: Variant[];
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The dashboard as `npm run build` leaves it in `dist/public` (web/build.mjs): `index.html` and the
 * content-hashed files of `assets/`, each with a `.br` and a `.gz` twin. Everything is read into
 * memory once (well under 100 KiB), so serving a file is a map lookup.
 */
export class WebBundle {
  private constructor(
    readonly index: WebFile,
    private readonly assets: ReadonlyMap<string, WebFile>,
  ) {}

  /** The bundle in `dir`, or undefined when it was not built (running from source). */
  static load(dir: string): WebBundle | undefined {
    if (!existsSync(join(dir, 'index.html'))) return undefined;
    const assetDir = join(dir, 'assets');
    const assets = new Map<string, WebFile>();
    for (const name of readdirSync(assetDir)) {
      if (name.endsWith('.br') || name.endsWith('.gz')) continue;
      assets.set(name, readFile(assetDir, name));
    }
    return new WebBundle(readFile(dir, 'index.html'), assets);
  }

  asset(name: string): WebFile | undefined {
    return this.assets.get(name);
  }
}

function readFile(dir: string, name: string): WebFile {
  const path = join(dir, name);
  const variant = (file: string, encoding?: 'br' | 'gzip'): Variant => {
    const body = readFileSync(file);
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    return { body, encoding, etag: `"${hash}"` };
  };
  const variants = [variant(path)];
  if (existsSync(`${path}.br`)) variants.push(variant(`${path}.br`, 'br'));
  if (existsSync(`${path}.gz`)) variants.push(variant(`${path}.gz`, 'gzip'));
  return { type: TYPES[extname(name)] ?? 'application/octet-stream', variants };
}

/**
 * The variant to send for an `Accept-Encoding` header: Brotli, then gzip, when the client accepts
 * them (a `q=0` refuses), else the identity. Only the encodings the build wrote exist.
 */
export function pickVariant(file: WebFile, acceptEncoding: string | undefined): Variant {
  const accepted = new Set(
    (acceptEncoding ?? '')
      .split(',')
      .map((part) => part.trim().toLowerCase().split(';'))
      .filter(([, ...params]) => !params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p)))
      .map(([coding]) => coding.trim()),
  );
  for (const encoding of ['br', 'gzip'] as const) {
    const found = file.variants.find((v) => v.encoding === encoding);
    if (found && (accepted.has(encoding) || accepted.has('*'))) return found;
  }
  return file.variants[0];
}

/** The bundle, loaded once at start; a holder so the controller can be built without one. */
export class WebBundleRef {
  constructor(private readonly bundle: WebBundle | undefined) {}
  get(): WebBundle | undefined {
    return this.bundle;
  }
}
